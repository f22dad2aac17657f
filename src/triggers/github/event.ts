import type { InboundEvent } from '../types.js';
import { PULL_REQUEST_EVENTS } from './filters.js';

/** GitHub Actions considers only the first 300 changed files (protocols.md §2). */
export const MAX_CHANGED_FILES = 300;
/** A push of more than 1,000 commits always runs path-filtered workflows. */
export const ALWAYS_RUN_COMMITS = 1000;

type Obj = Record<string, unknown>;

/** How the changed files of an event were obtained; kept in event.meta.github.changed_files. */
export interface FilesNote {
  source: 'push' | 'api' | 'request';
  count: number;
  truncated: boolean;
  /** Too many commits to diff: path filters pass, as on GitHub. */
  always_run?: boolean;
  /** Set when they could not be obtained: path filters fail closed. */
  error_code?: string;
  error?: string;
}

export interface GithubMeta {
  delivery_id: string;
  event_type: string;
  changed_files?: FilesNote;
}

export function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Events that carry a pull request (base/head refs and shas). */
export function pullRequestOf(payload: Obj): Obj | undefined {
  return obj(payload.pull_request);
}

/** The lower-cased repository full name: the index key of a delivery ('' when it names none). */
export function repositoryKey(payload: Obj): string {
  return (str(obj(payload.repository)?.full_name) ?? '').toLowerCase();
}

/** Push: the union of added, modified and removed over the commits, first 300 in commit order. */
export function pushChangedFiles(payload: Obj): { files: string[]; note: FilesNote } {
  const commits = Array.isArray(payload.commits) ? payload.commits : [];
  const seen = new Set<string>();
  let total = 0;
  for (const c of commits) {
    const commit = obj(c);
    for (const key of ['added', 'modified', 'removed']) {
      const list = commit?.[key];
      if (!Array.isArray(list)) continue;
      for (const f of list) {
        if (typeof f !== 'string' || seen.has(f)) continue;
        total++;
        if (seen.size < MAX_CHANGED_FILES) seen.add(f);
      }
    }
  }
  const files = [...seen];
  const note: FilesNote = { source: 'push', count: files.length, truncated: total > files.length };
  if (commits.length > ALWAYS_RUN_COMMITS) note.always_run = true;
  return { files, note };
}

/**
 * The event's trigger_data base (contract.md §2.2 plus the spec outputs): identity, repository, sender,
 * refs and shas, and the whole payload. Per-trigger additions are merged over it at dispatch.
 */
export function buildEventData(
  eventType: string,
  deliveryId: string,
  payload: Obj,
  receivedAt: number,
  changedFiles?: string[],
): Obj {
  const repo = obj(payload.repository);
  const sender = obj(payload.sender);
  const action = str(payload.action);
  const time = new Date(receivedAt).toISOString();
  const data: Obj = {
    trigger_type: 'GITHUB',
    event_type: eventType,
    action,
    delivery_id: deliveryId,
    repository: repo
      ? { full_name: str(repo.full_name), id: num(repo.id), private: repo.private === true }
      : null,
    sender: sender ? { login: str(sender.login), type: str(sender.type) } : null,
    installation_id: num(obj(payload.installation)?.id),
    ...refs(eventType, payload),
    trigger_time: time,
    timestamp: time,
    trigger_message: `GitHub ${eventType}${action ? `.${action}` : ''}${repo ? ` on ${str(repo.full_name)}` : ''}`,
  };
  if (changedFiles) data.changed_files = changedFiles;
  data.payload = payload;
  return data;
}

function refs(eventType: string, p: Obj): Obj {
  if (eventType === 'push') {
    const ref = str(p.ref) ?? '';
    return {
      ref,
      branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null,
      tag: ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : null,
      before: str(p.before),
      after: str(p.after),
      created: p.created === true,
      deleted: p.deleted === true,
      forced: p.forced === true,
      commit_sha: p.deleted === true ? null : str(p.after),
    };
  }
  if (eventType === 'create' || eventType === 'delete') {
    const name = str(p.ref);
    const type = str(p.ref_type);
    return {
      ref: name && type ? `refs/${type === 'tag' ? 'tags' : 'heads'}/${name}` : name,
      branch: type === 'branch' ? name : null,
      tag: type === 'tag' ? name : null,
    };
  }
  const pr = pullRequestOf(p);
  if (pr) {
    const base = obj(pr.base);
    const head = obj(pr.head);
    return {
      number: num(pr.number),
      // The branches filter reads the base branch, so `branch` is the base branch too.
      branch: str(base?.ref),
      base_ref: str(base?.ref),
      head_ref: str(head?.ref),
      base_sha: str(base?.sha),
      head_sha: str(head?.sha),
      commit_sha: str(head?.sha),
    };
  }
  const run = obj(p.workflow_run);
  if (eventType === 'workflow_run' && run) {
    return { branch: str(run.head_branch), commit_sha: str(run.head_sha) };
  }
  return {};
}

/** Pull-request events whose changed files come from the API (push carries them). */
export function needsApiFiles(eventType: string): boolean {
  return PULL_REQUEST_EVENTS.has(eventType);
}

export function metaOf(event: InboundEvent): GithubMeta | undefined {
  return obj(event.meta?.github) as GithubMeta | undefined;
}
