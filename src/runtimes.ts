import type { Db } from './db/db.js';
import { TRIGGER_CHANGES_CHANNEL } from './deploy/deployer.js';
import type { Logger } from './logger.js';
import type { Services } from './services.js';
import type { Registry } from './triggers/registry.js';
import type { KindRuntime } from './triggers/types.js';

/**
 * The long-lived parts of trigger kinds (the scheduler loop, mailbox listeners). Started once per
 * process; told about trigger changes made here directly and about those made on other replicas by
 * LISTEN/NOTIFY (each runtime also reconciles on its own, since NOTIFY is only a hint).
 */
export class Runtimes {
  private readonly runtimes = new Map<string, KindRuntime>();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly deps: { db: Db; registry: Registry; logger: Logger }) {}

  async start(services: Services): Promise<void> {
    for (const kind of this.deps.registry.all()) {
      if (!kind.createRuntime) continue;
      const rt = kind.createRuntime(services);
      await rt.start();
      this.runtimes.set(kind.id, rt);
    }
    this.unlisten = await this.deps.db.listen(TRIGGER_CHANGES_CHANNEL, (workflowId) =>
      this.changed(workflowId),
    );
  }

  changed(workflowId: string): void {
    for (const [id, rt] of this.runtimes) {
      Promise.resolve(rt.onTriggersChanged?.(workflowId)).catch((err) =>
        this.deps.logger.error(
          { err, kind: id, workflow_id: workflowId },
          'runtime failed to apply a trigger change',
        ),
      );
    }
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
    for (const rt of [...this.runtimes.values()].reverse()) await rt.stop();
    this.runtimes.clear();
  }

  health(): Record<string, unknown> {
    return Object.fromEntries([...this.runtimes].map(([id, rt]) => [id, rt.health?.() ?? { running: true }]));
  }
}
