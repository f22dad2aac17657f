import { findByIndexKeys } from '../../db/triggers.sql.js';
import type { Services } from '../../services.js';
import type { InboundEvent, TriggerRow } from '../types.js';
import { GithubApiError, githubApi } from './api.js';
import type { GithubConfig } from './config.js';
import {
  buildEventData,
  type FilesNote,
  type GithubMeta,
  needsApiFiles,
  obj,
  pushChangedFiles,
  repositoryKey,
} from './event.js';
import { deliveryKnown } from './github.sql.js';
import { needsChangedFiles } from './match.js';

type Obj = Record<string, unknown>;

export interface PreparedDelivery {
  event: InboundEvent;
  /** The triggers under the repository, when they had to be read to decide on fetching files. */
  candidates?: TriggerRow<GithubConfig>[];
}

/**
 * Pull request files per delivery, fetched or being fetched. Concurrent redeliveries share one fetch;
 * the result is kept a little after it settles, because a copy may arrive after the fetch finished
 * but before the first copy's transaction made the delivery known.
 */
const inFlight = new Map<string, Promise<{ files?: string[]; note: FilesNote }>>();
const KEEP_MS = 10_000;

/**
 * Builds the normalised event of a delivery. Changed files go into the event before routing, so the
 * matcher stays pure: a push carries them; a pull request's are fetched from the API only when a
 * trigger on the repository would otherwise match and has a path filter. On failure the note says
 * why and path filters fail closed.
 */
export async function prepareDelivery(
  s: Services,
  d: { eventType: string; deliveryId: string; payload: Obj; receivedAt: number; changedFiles?: string[] },
): Promise<PreparedDelivery> {
  const { eventType, deliveryId, payload, receivedAt } = d;
  const meta: GithubMeta = { delivery_id: deliveryId, event_type: eventType };
  let files: string[] | undefined;
  if (d.changedFiles) {
    files = d.changedFiles;
    meta.changed_files = { source: 'request', count: files.length, truncated: false };
  } else if (eventType === 'push') {
    const r = pushChangedFiles(payload);
    files = r.files;
    meta.changed_files = r.note;
  }
  const event: InboundEvent = {
    kind: 'GITHUB',
    idempotencyKey: `GITHUB:${deliveryId}`,
    indexKey: repositoryKey(payload),
    receivedAt,
    payload: buildEventData(eventType, deliveryId, payload, receivedAt, files),
    meta: { github: meta },
  };
  if (files || !needsApiFiles(eventType) || event.indexKey === '') return { event };

  const candidates = (await findByIndexKeys(s.db, [
    { kind: 'GITHUB', indexKey: event.indexKey },
  ])) as TriggerRow<GithubConfig>[];
  const wanted = candidates.some(
    (t) => t.enabled && t.status === 'active' && needsChangedFiles(t.config, event),
  );
  if (!wanted) return { event, candidates };
  let pending = inFlight.get(deliveryId);
  if (!pending) {
    // A redelivery of a stored delivery is a duplicate: no need to ask GitHub again.
    if (await deliveryKnown(s.db, deliveryId)) return { event, candidates };
    pending = inFlight.get(deliveryId) ?? startFetch(s, deliveryId, payload);
  }
  const r = await pending;
  meta.changed_files = r.note;
  if (r.files) event.payload = buildEventData(eventType, deliveryId, payload, receivedAt, r.files);
  return { event, candidates };
}

function startFetch(
  s: Services,
  deliveryId: string,
  payload: Obj,
): Promise<{ files?: string[]; note: FilesNote }> {
  const pending = fetchPullRequestFiles(s, payload).finally(() => {
    setTimeout(() => inFlight.delete(deliveryId), KEEP_MS).unref();
  });
  inFlight.set(deliveryId, pending);
  return pending;
}

async function fetchPullRequestFiles(
  s: Services,
  payload: Obj,
): Promise<{ files?: string[]; note: FilesNote }> {
  const failed = (code: string, error: string) => ({
    note: { source: 'api' as const, count: 0, truncated: false, error_code: code, error },
  });
  const installation = obj(payload.installation)?.id;
  const number = obj(payload.pull_request)?.number;
  const repo = obj(payload.repository)?.full_name;
  if (typeof installation !== 'number')
    return failed('SCHED_GITHUB_APP_NOT_CONFIGURED', 'the delivery names no installation');
  if (typeof number !== 'number' || typeof repo !== 'string')
    return failed('SCHED_GITHUB_PAYLOAD_INVALID', 'the delivery names no pull request');
  try {
    const deadline = s.clock.now() + s.config.github.apiTimeoutMs;
    const r = await githubApi(s).pullRequestFiles(repo, number, installation, deadline);
    return { files: r.files, note: { source: 'api', count: r.files.length, truncated: r.truncated } };
  } catch (err) {
    if (err instanceof GithubApiError) {
      s.logger.warn(
        { code: err.code, status: err.status, repository: repo, pr: number },
        'pull request files unavailable',
      );
      return failed(err.code, err.message);
    }
    throw err;
  }
}
