import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { LightMyRequestResponse } from 'fastify';
import type { GithubConfig } from '../../src/triggers/github/config.js';
import { parseGithubConfig } from '../../src/triggers/github/config.js';
import { buildEventData, type FilesNote, pushChangedFiles } from '../../src/triggers/github/event.js';
import type { InboundEvent } from '../../src/triggers/types.js';
import type { Harness } from '../helpers/harness.js';

type Obj = Record<string, unknown>;

const require = createRequire(import.meta.url);
const EXAMPLES = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Obj[];
}[];

/** Real payloads published by octokit (a deep copy, so tests may change them). */
export function example(name: string, pick: (p: Obj) => boolean = () => true): Obj {
  const found = EXAMPLES.find((e) => e.name === name)?.examples.find(pick);
  if (!found) throw new Error(`no ${name} example`);
  return structuredClone(found);
}

/** An event as the ingress builds it (push files from the commits unless given). */
export function eventOf(type: string, payload: Obj, files?: string[], note?: FilesNote): InboundEvent {
  let changed = files;
  let n = note;
  if (!changed && type === 'push') {
    const r = pushChangedFiles(payload);
    changed = r.files;
    n = n ?? r.note;
  }
  return {
    kind: 'GITHUB',
    idempotencyKey: 'GITHUB:test',
    indexKey: String((payload.repository as Obj | undefined)?.full_name ?? '').toLowerCase(),
    receivedAt: Date.parse('2026-01-01T00:00:00Z'),
    payload: buildEventData(type, 'test', payload, Date.parse('2026-01-01T00:00:00Z'), changed),
    meta: { github: { delivery_id: 'test', event_type: type, ...(n ? { changed_files: n } : {}) } },
  };
}

export function config(raw: Obj): GithubConfig {
  return parseGithubConfig({ repository: 'Octo/Repo', github_app_installation_id: 42, ...raw });
}

export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export const SECRET = 'test-webhook-secret-0123456789';

/** A delivery as GitHub's hookshot sends it. */
export function deliver(
  h: Harness,
  o: {
    event: string;
    delivery: string;
    payload?: Obj;
    body?: string | Buffer;
    secret?: string;
    contentType?: string;
    headers?: Record<string, string>;
  },
): Promise<LightMyRequestResponse> {
  const body = o.body ?? JSON.stringify(o.payload ?? {});
  return h.inject({
    method: 'POST',
    url: '/api/v1/github/webhook',
    payload: body,
    headers: {
      'content-type': o.contentType ?? 'application/json',
      'user-agent': 'GitHub-Hookshot/abc123',
      'x-github-event': o.event,
      'x-github-delivery': o.delivery,
      'x-hub-signature-256': signature(o.secret ?? SECRET, body),
      ...o.headers,
    },
  });
}

/** Minimal synthetic payloads in GitHub's shape, for the rule table. */
export const REPO = { id: 1, full_name: 'Octo/Repo', private: false };
export const USER = { login: 'mona', type: 'User' };

export function push(ref: string, files: string[] = [], extra: Obj = {}): Obj {
  return {
    ref,
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    created: false,
    deleted: false,
    forced: false,
    commits: files.length ? [{ id: 'c1', added: files, modified: [], removed: [] }] : [],
    repository: REPO,
    installation: { id: 42 },
    sender: USER,
    ...extra,
  };
}

export function pr(
  action: string,
  o: { base?: string; draft?: boolean; labels?: string[]; user?: string } = {},
): Obj {
  return {
    action,
    number: 7,
    pull_request: {
      number: 7,
      draft: o.draft ?? false,
      user: { login: o.user ?? 'mona', type: 'User' },
      labels: (o.labels ?? []).map((name) => ({ name })),
      base: { ref: o.base ?? 'main', sha: 'b'.repeat(40) },
      head: { ref: 'feature', sha: 'h'.repeat(40) },
    },
    repository: REPO,
    installation: { id: 42 },
    sender: USER,
  };
}
