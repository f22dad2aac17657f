import { deleteOldest, iso, json, type Queryable, statement } from '../db/db.js';
import type { Match } from './match.js';

export const WAIT_STATUSES = ['open', 'resuming', 'satisfied', 'expired', 'failed', 'cancelled'] as const;
export type WaitStatus = (typeof WAIT_STATUSES)[number];

export interface WaitRecord {
  id: string;
  executionId: string;
  interactionId: string;
  workflowId: string;
  userId: string;
  kind: string;
  match: Match;
  status: WaitStatus;
  expiresAt: string;
  askedAt: string | null;
  eventId: string | null;
  dispatchId: string | null;
  source: 'live' | 'lookback' | null;
  sourceDispatchId: string | null;
  matchedAt: string | null;
  closedAt: string | null;
  lastErrorCode: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** The dispatch delivering the resume, as the outbox sees it (the truth about engine calls). */
  dispatch: {
    status: string;
    attempts: number;
    resumed: boolean;
    lastErrorCode: string | null;
    lastError: string | null;
    lastHttpStatus: number | null;
  } | null;
}

const COLUMNS = `w.id, w.execution_id, w.interaction_id, w.workflow_id, w.user_id, w.kind, w.match, w.status,
  w.expires_at, w.asked_at, w.event_id, w.dispatch_id, w.source, w.source_dispatch_id, w.matched_at, w.closed_at,
  w.last_error_code, w.last_error, w.created_at, w.updated_at, d.status AS d_status, d.attempts AS d_attempts,
  d.resumed AS d_resumed, d.last_error_code AS d_error_code, d.last_error AS d_error,
  d.last_http_status AS d_http_status`;
const FROM = 'hil_waits w LEFT JOIN dispatches d ON d.id = w.dispatch_id';

function toRecord(x: Record<string, unknown>): WaitRecord {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(x.id),
    executionId: String(x.execution_id),
    interactionId: String(x.interaction_id),
    workflowId: String(x.workflow_id),
    userId: String(x.user_id),
    kind: String(x.kind),
    match: x.match as Match,
    status: x.status as WaitStatus,
    expiresAt: iso(x.expires_at) ?? '',
    askedAt: iso(x.asked_at),
    eventId: str(x.event_id),
    dispatchId: str(x.dispatch_id),
    source: (x.source as WaitRecord['source']) ?? null,
    sourceDispatchId: str(x.source_dispatch_id),
    matchedAt: iso(x.matched_at),
    closedAt: iso(x.closed_at),
    lastErrorCode: str(x.last_error_code),
    lastError: str(x.last_error),
    createdAt: iso(x.created_at) ?? '',
    updatedAt: iso(x.updated_at) ?? '',
    dispatch:
      x.d_status === null || x.d_status === undefined
        ? null
        : {
            status: String(x.d_status),
            attempts: Number(x.d_attempts),
            resumed: Boolean(x.d_resumed),
            lastErrorCode: str(x.d_error_code),
            lastError: str(x.d_error),
            lastHttpStatus: (x.d_http_status as number | null) ?? null,
          },
  };
}

export async function getWait(q: Queryable, id: string): Promise<WaitRecord | undefined> {
  const r = await q.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM ${FROM} WHERE w.id = $1`, [id]);
  return r.rows[0] ? toRecord(r.rows[0]) : undefined;
}

export async function getWaitByKey(
  q: Queryable,
  executionId: string,
  interactionId: string,
): Promise<WaitRecord | undefined> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE w.execution_id = $1 AND w.interaction_id = $2`,
    [executionId, interactionId],
  );
  return r.rows[0] ? toRecord(r.rows[0]) : undefined;
}

export async function countOpenWaits(q: Queryable, workflowId: string): Promise<number> {
  const r = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM hil_waits WHERE workflow_id = $1 AND status = 'open'`,
    [workflowId],
  );
  return Number(r.rows[0]?.n ?? 0);
}

export type NewWait = Pick<
  WaitRecord,
  | 'id'
  | 'executionId'
  | 'interactionId'
  | 'workflowId'
  | 'userId'
  | 'kind'
  | 'match'
  | 'expiresAt'
  | 'askedAt'
> & { now: string };

/** Inserts an open wait; false when (execution_id, interaction_id) is already taken. */
export async function insertWait(q: Queryable, w: NewWait): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO hil_waits (id, execution_id, interaction_id, workflow_id, user_id, kind, match, status, expires_at,
       asked_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'open', $8, $9, $10, $10)
     ON CONFLICT (execution_id, interaction_id) DO NOTHING`,
    [
      w.id,
      w.executionId,
      w.interactionId,
      w.workflowId,
      w.userId,
      w.kind,
      json(w.match),
      w.expiresAt,
      w.askedAt,
      w.now,
    ],
  );
  return r.rowCount > 0;
}

/** The engine accepted the resume. */
export async function markSatisfied(
  q: Queryable,
  waitId: string,
  dispatchId: string,
  now: string,
): Promise<void> {
  await q.query(
    `UPDATE hil_waits SET status = 'satisfied', closed_at = $3, updated_at = $3, last_error_code = NULL,
       last_error = NULL
     WHERE id = $1 AND dispatch_id = $2 AND status IN ('resuming', 'failed')`,
    [waitId, dispatchId, now],
  );
}

/** The resume failed for good (engine 404); a replay of the dispatch takes the wait up again. */
export async function markFailed(
  q: Queryable,
  f: { waitId: string; dispatchId: string; code: string; message: string; now: string },
): Promise<void> {
  await q.query(
    `UPDATE hil_waits SET status = 'failed', closed_at = $5, updated_at = $5, last_error_code = $3,
       last_error = $4
     WHERE id = $1 AND dispatch_id = $2 AND status = 'resuming'`,
    [f.waitId, f.dispatchId, f.code, f.message.slice(0, 1000), f.now],
  );
}

/** A replayed dispatch takes its failed wait up again. */
export async function resumeAgain(
  q: Queryable,
  waitId: string,
  dispatchId: string,
  now: string,
): Promise<void> {
  await q.query(
    `UPDATE hil_waits SET status = 'resuming', closed_at = NULL, updated_at = $3
     WHERE id = $1 AND dispatch_id = $2 AND status = 'failed'`,
    [waitId, dispatchId, now],
  );
}

export async function cancelWait(q: Queryable, id: string, now: string): Promise<boolean> {
  const r = await q.query(
    `UPDATE hil_waits SET status = 'cancelled', closed_at = $2, updated_at = $2
     WHERE id = $1 AND status = 'open' AND expires_at > $2`,
    [id, now],
  );
  return r.rowCount > 0;
}

/**
 * Deletes up to `limit` closed waits (satisfied, expired, failed, cancelled) last changed before `before`,
 * the event retention's cut-off, oldest first; returns how many. Open and resuming waits are never
 * deleted, however old.
 */
export function purgeClosedWaits(q: Queryable, before: string, limit: number): Promise<number> {
  return deleteOldest(
    q,
    'hil_waits',
    'updated_at',
    before,
    limit,
    "status IN ('satisfied', 'expired', 'failed', 'cancelled')",
  );
}

// One statement, so an idle sweep is one round trip. The CTEs touch disjoint rows (open vs resuming).
// `pending` (read from the snapshot before this sweep) says whether another sweep may have work. The
// lookback DELETE runs though nothing reads it: PostgreSQL completes every data-modifying CTE. Planned
// per call: a plan made while dispatches was small joins it by a full scan.
const STMT_SWEEP = statement(
  'hil_sweep',
  `WITH expired AS (
     UPDATE hil_waits SET status = 'expired', closed_at = expires_at, updated_at = $1
     WHERE status = 'open' AND expires_at <= $1 RETURNING 1
   ), satisfied AS (
     UPDATE hil_waits w SET status = 'satisfied', closed_at = d.completed_at, updated_at = $1
     FROM dispatches d
     WHERE w.status = 'resuming' AND d.id = w.dispatch_id AND d.status = 'succeeded' AND d.resumed
     RETURNING 1
   ), failed AS (
     UPDATE hil_waits w SET status = 'failed', closed_at = d.completed_at, updated_at = $1,
       last_error_code = d.last_error_code, last_error = d.last_error
     FROM dispatches d
     WHERE w.status = 'resuming' AND d.id = w.dispatch_id AND d.status = 'dead'
     RETURNING 1
   ), forgotten AS (
     DELETE FROM hil_lookback WHERE offered_at < $2 RETURNING 1
   )
   SELECT (SELECT count(*) FROM expired)::int AS expired, (SELECT count(*) FROM satisfied)::int AS satisfied,
          (SELECT count(*) FROM failed)::int AS failed,
          (EXISTS (SELECT 1 FROM hil_waits WHERE status IN ('open', 'resuming'))
            OR EXISTS (SELECT 1 FROM hil_lookback)) AS pending`,
  { prepare: false },
);

/**
 * Housekeeping: closes open waits past their expiry, brings 'resuming' waits in line with their
 * dispatch (the outbox row is the truth about the engine call; a lost write of ours is repaired here),
 * and forgets answers older than the lookback window.
 */
export async function sweep(
  q: Queryable,
  now: string,
  forgetBefore: string,
): Promise<{ expired: number; satisfied: number; failed: number; pending: boolean }> {
  const r = await q.query<{ expired: number; satisfied: number; failed: number; pending: boolean }>(
    STMT_SWEEP,
    [now, forgetBefore],
  );
  const row = r.rows[0]!;
  return { expired: row.expired, satisfied: row.satisfied, failed: row.failed, pending: row.pending };
}

export async function listWaits(
  q: Queryable,
  f: {
    workflowId?: string | undefined;
    userId?: string | undefined;
    executionId?: string | undefined;
    status?: WaitStatus | undefined;
    limit: number;
  },
): Promise<WaitRecord[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM ${FROM}
     WHERE ($1::text IS NULL OR w.workflow_id = $1) AND ($2::text IS NULL OR w.user_id = $2)
       AND ($3::text IS NULL OR w.execution_id = $3) AND ($4::text IS NULL OR w.status = $4)
     ORDER BY w.created_at DESC, w.id DESC LIMIT $5`,
    [f.workflowId ?? null, f.userId ?? null, f.executionId ?? null, f.status ?? null, f.limit],
  );
  return r.rows.map(toRecord);
}
