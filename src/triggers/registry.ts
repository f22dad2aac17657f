import { registerErrors } from '../errors.js';
import { cronKind } from './cron/index.js';
import { githubKind } from './github/index.js';
import { manualKind } from './manual/index.js';
import { slackKind } from './slack/index.js';
import type { TriggerKind } from './types.js';
import { webhookKind } from './webhook/index.js';

/**
 * Every trigger kind, once. Adding a kind is a folder under src/triggers/ and a line here; routes,
 * validation, routing, listeners and the /triggers/types list are all derived from this table.
 */
export const KINDS = {
  MANUAL: manualKind,
  WEBHOOK: webhookKind,
  CRON: cronKind,
  SLACK: slackKind,
  GITHUB: githubKind,
} satisfies Record<string, TriggerKind>;

export type KindId = keyof typeof KINDS;

export class Registry {
  private readonly kinds: ReadonlyMap<string, TriggerKind>;

  constructor(kinds: Record<string, TriggerKind> = KINDS) {
    for (const [id, kind] of Object.entries(kinds)) {
      if (kind.id !== id) throw new Error(`registry key ${id} holds kind ${kind.id}`);
      if (kind.errors) registerErrors(kind.errors);
    }
    this.kinds = new Map(Object.entries(kinds));
  }

  get(id: string): TriggerKind | undefined {
    return this.kinds.get(id);
  }

  all(): TriggerKind[] {
    return [...this.kinds.values()];
  }

  ids(): string[] {
    return [...this.kinds.keys()];
  }
}
