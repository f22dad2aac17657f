import type { ResumeMode } from '../triggers/types.js';
import { iso, json, ms, type Queryable, statement } from './db.js';

/** `cancelled`: a cron tick written ahead whose trigger was paused or undeployed before its instant. */
export const DISPATCH_STATUSES = ['pending', 'in_flight', 'succeeded', 'dead', 'cancelled'] as const;
export type DispatchStatus = (typeof DISPATCH_STATUSES)[number];

export interface NewDispatchRow {
  id: string;
  eventId: string;
  workflowId: string;
  nodeId: string;
  kind: string;
  userId: string;
  triggerData: Record<string, unknown>;
  resumeMode: ResumeMode;
  /** Claimed at insert by this process (status in_flight) or left for any dispatcher (pending). */
  claimToken: string | null;
  leaseUntil: string | null;
  /** A tick written ahead: the instant before which the engine is not called (also its first due time). */
  notBefore: string | null;
  now: string;
}

/** A dispatch claimed by this process, with everything needed to call the engine. */
export interface ClaimedDispatch {
  id: string;
  eventId: string;
  workflowId: string;
  nodeId: string;
  kind: string;
  userId: string;
  resumeMode: ResumeMode;
  attempts: number;
  claimToken: string;
  /** The event payload merged with the per-trigger additions. */
  triggerData: Record<string, unknown>;
  /** Epoch ms of not_before: the engine is not called earlier, and the first call is gated (gateScheduled). */
  notBefore: number | null;
  /**
   * A tick handed to the pipeline over LATE_TICK_MS after its instant (ingestor.ts), claimed at insert:
   * late already, it waits in the dispatcher's backlog lane.
   */
  late: boolean;
}

/**
 * The in-memory handover of a row written claimed (its first attempt); `triggerData` is what the engine
 * gets: the event payload merged with the per-trigger additions the row stores.
 */
export function claimedAtInsert(
  row: NewDispatchRow,
  claimToken: string,
  triggerData: Record<string, unknown>,
  late = false,
): ClaimedDispatch {
  const { id, eventId, workflowId, nodeId, kind, userId, resumeMode } = row;
  const notBefore = row.notBefore === null ? null : Date.parse(row.notBefore);
  return {
    id,
    eventId,
    workflowId,
    nodeId,
    kind,
    userId,
    resumeMode,
    attempts: 1,
    claimToken,
    triggerData,
    notBefore,
    late,
  };
}

export interface DispatchRecord {
  id: string;
  eventId: string;
  workflowId: string;
  nodeId: string;
  kind: string;
  userId: string;
  status: DispatchStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastErrorCode: string | null;
  lastError: string | null;
  lastHttpStatus: number | null;
  executionId: string | null;
  resumed: boolean;
  resumeOutcome: string | null;
  resumeMode: ResumeMode;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/**
 * Claims due dispatches: in-flight ones whose lease ran out (their dispatcher died) first, then pending
 * ones whose time has come. SKIP LOCKED lets several dispatchers claim side by side. Each half reads the
 * head of its own partial index, so a claim costs the same with ten or a million rows waiting (one OR'd
 * condition would sort every due row on each poll).
 */
const STMT_CLAIM_DUE = statement(
  'dispatch_claim_due',
  `WITH expired AS (
       SELECT id FROM dispatches WHERE status = 'in_flight' AND lease_until <= $1
       ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED
     ), pending AS (
       SELECT id FROM dispatches WHERE status = 'pending' AND next_attempt_at <= $1
       ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED
     ), due AS (
       (SELECT id FROM expired) UNION ALL (SELECT id FROM pending) LIMIT $3
     ), claimed AS (
       UPDATE dispatches d SET status = 'in_flight', attempts = d.attempts + 1, lease_until = $2,
         claim_token = $4, updated_at = $1
       FROM due WHERE d.id = due.id
       RETURNING d.id, d.event_id, d.workflow_id, d.trigger_node_id, d.kind, d.user_id, d.resume_mode, d.attempts,
         d.trigger_data, d.not_before
     )
     SELECT c.*, e.payload FROM claimed c JOIN events e ON e.id = c.event_id`,
);

export async function claimDue(
  q: Queryable,
  opts: { now: string; leaseUntil: string; limit: number; claimToken: string },
): Promise<ClaimedDispatch[]> {
  const r = await q.query<{
    id: string;
    event_id: string;
    workflow_id: string;
    trigger_node_id: string;
    kind: string;
    user_id: string;
    resume_mode: ResumeMode;
    attempts: number;
    trigger_data: Record<string, unknown>;
    payload: Record<string, unknown>;
    not_before: unknown;
  }>(STMT_CLAIM_DUE, [opts.now, opts.leaseUntil, opts.limit, opts.claimToken]);
  return r.rows.map((x) => ({
    id: x.id,
    eventId: x.event_id,
    workflowId: x.workflow_id,
    nodeId: x.trigger_node_id,
    kind: x.kind,
    userId: x.user_id,
    resumeMode: x.resume_mode,
    attempts: x.attempts,
    claimToken: opts.claimToken,
    triggerData: { ...x.payload, ...x.trigger_data },
    notBefore: ms(x.not_before),
    // The poll's rows join the backlog lane anyway.
    late: false,
  }));
}

// Planned per call like the routing reads: the trigger lookup's plan depends on trigger_index's size.
// The status is tested in the select list, not in WHERE: there it lets the planner AND the primary key
// with the partial index of in-flight rows, which holds an entry for every row ever claimed until vacuum
// (90,000 at 100k schedules after a minute: 17 ms for 5 rows instead of a few key lookups).
const STMT_GATE = statement(
  'dispatch_gate',
  `SELECT d.id::text AS id, d.status = 'in_flight' AS held,
       d.last_error_code IS NOT NULL OR d.last_http_status IS NOT NULL OR EXISTS (
         SELECT 1 FROM trigger_index t
         WHERE t.workflow_id = d.workflow_id AND t.trigger_node_id = d.trigger_node_id
           AND t.trigger_subtype = d.kind AND t.enabled AND t.deployment_status = 'active') AS live
     FROM dispatches d
     WHERE d.id = ANY($1::uuid[]) AND d.claim_token = ANY($2::uuid[])`,
  { prepare: false },
);

/**
 * The gate of ticks written ahead, read when their instant has come: which of these claimed rows are
 * still this process's (`live` or not), and of those whether their trigger is still deployed and enabled
 * (a row that already had an engine attempt is past its gate). Rows missing from the answer belong to
 * someone else now. A read, not a write: nothing waits for a WAL flush at the tick's instant.
 */
export async function gateScheduled(
  q: Queryable,
  rows: readonly { id: string; claimToken: string }[],
): Promise<Map<string, boolean>> {
  if (rows.length === 0) return new Map();
  const r = await q.query<{ id: string; held: boolean; live: boolean }>(STMT_GATE, [
    rows.map((x) => x.id),
    [...new Set(rows.map((x) => x.claimToken))],
  ]);
  return new Map(r.rows.filter((x) => x.held).map((x) => [x.id, x.live]));
}

export interface DispatchUpdate {
  id: string;
  claimToken: string;
  status: 'pending' | 'succeeded' | 'dead' | 'cancelled';
  nextAttemptAt: string | null;
  executionId: string | null;
  resumed: boolean;
  resumeOutcome: string | null;
  lastErrorCode: string | null;
  lastError: string | null;
  lastHttpStatus: number | null;
  now: string;
}

/**
 * The outcome UPDATE, its two parameters numbered from `p`: the outcomes as JSON, then their ids. The id
 * list tells the planner the rows are a handful of primary-key lookups. Also run inside the inbox write
 * (inbox.sql.ts), so outcomes ride on the next ingest commit instead of a commit of their own.
 */
export const completionSql = (p: number) =>
  `UPDATE dispatches d SET status = x.status,
       next_attempt_at = COALESCE(x.next_attempt_at, d.next_attempt_at),
       lease_until = NULL, claim_token = NULL,
       execution_id = COALESCE(x.execution_id, d.execution_id),
       resumed = x.resumed OR d.resumed,
       resume_outcome = COALESCE(x.resume_outcome, d.resume_outcome),
       last_error_code = x.last_error_code, last_error = x.last_error, last_http_status = x.last_http_status,
       updated_at = x.now,
       completed_at = CASE WHEN x.status IN ('succeeded', 'dead', 'cancelled') THEN x.now ELSE NULL END
     FROM jsonb_to_recordset($${p}::jsonb) AS x(id uuid, claim_token uuid, status text, next_attempt_at timestamptz,
       execution_id text, resumed boolean, resume_outcome text, last_error_code text, last_error text,
       last_http_status integer, now timestamptz)
     WHERE d.id = ANY($${p + 1}::uuid[]) AND d.id = x.id AND d.claim_token = x.claim_token`;

/** The parameters of completionSql. */
export function completionParams(updates: readonly DispatchUpdate[]): [string, string[]] {
  return [
    json(
      updates.map((u) => ({
        id: u.id,
        claim_token: u.claimToken,
        status: u.status,
        next_attempt_at: u.nextAttemptAt,
        execution_id: u.executionId,
        resumed: u.resumed,
        resume_outcome: u.resumeOutcome,
        last_error_code: u.lastErrorCode,
        last_error: u.lastError,
        last_http_status: u.lastHttpStatus,
        now: u.now,
      })),
    ),
    updates.map((u) => u.id),
  ];
}

// Planned per call: a generic plan made while dispatches was small (a new database) hash-joins the
// outcomes with a scan of the whole table, and keeps doing so as it grows until autovacuum's next
// ANALYZE; that was most of PostgreSQL's CPU in bench/ingest.
const STMT_COMPLETE = statement('dispatch_complete', completionSql(1), { prepare: false });

/**
 * Records outcomes of engine calls, many per statement. The claim token fences a dispatcher whose lease
 * expired: its late write changes nothing once another dispatcher has claimed the row.
 */
export async function completeDispatches(q: Queryable, updates: readonly DispatchUpdate[]): Promise<number> {
  if (updates.length === 0) return 0;
  const r = await q.query(STMT_COMPLETE, completionParams(updates));
  return r.rowCount;
}

/** Gives claims back (graceful shutdown) so another dispatcher can take them at once. */
export async function releaseClaims(
  q: Queryable,
  claimTokens: readonly string[],
  now: string,
): Promise<number> {
  if (claimTokens.length === 0) return 0;
  const r = await q.query(
    `UPDATE dispatches SET status = 'pending', lease_until = NULL, claim_token = NULL,
       next_attempt_at = GREATEST($2, COALESCE(not_before, $2)), attempts = GREATEST(attempts - 1, 0), updated_at = $2
     WHERE status = 'in_flight' AND claim_token = ANY($1::uuid[])`,
    [claimTokens, now],
  );
  return r.rowCount;
}

/**
 * Extends the leases of claims this process is still working on (queued, calling the engine, or writing
 * the outcome), so a slow engine or a busy database never lets another dispatcher deliver them again.
 */
export async function renewLeases(
  q: Queryable,
  claimTokens: readonly string[],
  leaseUntil: string,
): Promise<number> {
  if (claimTokens.length === 0) return 0;
  const r = await q.query(
    `UPDATE dispatches SET lease_until = $2 WHERE status = 'in_flight' AND claim_token = ANY($1::uuid[])`,
    [claimTokens, leaseUntil],
  );
  return r.rowCount;
}

/** With embedded PGlite no other process can hold a claim, so every in-flight row is an orphan at start. */
export async function releaseAllClaims(q: Queryable, now: string): Promise<number> {
  const r = await q.query(
    `UPDATE dispatches SET status = 'pending', lease_until = NULL, claim_token = NULL,
       next_attempt_at = GREATEST($1, COALESCE(not_before, $1)), updated_at = $1
     WHERE status = 'in_flight'`,
    [now],
  );
  return r.rowCount;
}

const RECORD_COLUMNS = `id, event_id, workflow_id, trigger_node_id, kind, user_id, status, attempts, next_attempt_at,
  last_error_code, last_error, last_http_status, execution_id, resumed, resume_outcome, resume_mode, created_at,
  updated_at, completed_at`;

function toRecord(x: Record<string, unknown>): DispatchRecord {
  return {
    id: String(x.id),
    eventId: String(x.event_id),
    workflowId: String(x.workflow_id),
    nodeId: String(x.trigger_node_id),
    kind: String(x.kind),
    userId: String(x.user_id),
    status: x.status as DispatchStatus,
    attempts: Number(x.attempts),
    nextAttemptAt: x.status === 'pending' ? iso(x.next_attempt_at) : null,
    lastErrorCode: (x.last_error_code as string | null) ?? null,
    lastError: (x.last_error as string | null) ?? null,
    lastHttpStatus: (x.last_http_status as number | null) ?? null,
    executionId: (x.execution_id as string | null) ?? null,
    resumed: Boolean(x.resumed),
    resumeOutcome: (x.resume_outcome as string | null) ?? null,
    resumeMode: x.resume_mode as ResumeMode,
    createdAt: iso(x.created_at) ?? '',
    updatedAt: iso(x.updated_at) ?? '',
    completedAt: iso(x.completed_at),
  };
}

export async function getDispatch(q: Queryable, id: string): Promise<DispatchRecord | undefined> {
  const r = await q.query<Record<string, unknown>>(`SELECT ${RECORD_COLUMNS} FROM dispatches WHERE id = $1`, [
    id,
  ]);
  return r.rows[0] ? toRecord(r.rows[0]) : undefined;
}

export async function listDispatches(
  q: Queryable,
  f: {
    status?: DispatchStatus | undefined;
    workflowId?: string | undefined;
    userId?: string | undefined;
    eventIds?: readonly string[] | undefined;
    limit: number;
  },
): Promise<DispatchRecord[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT ${RECORD_COLUMNS} FROM dispatches
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR workflow_id = $2)
       AND ($3::text IS NULL OR user_id = $3) AND ($4::uuid[] IS NULL OR event_id = ANY($4::uuid[]))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [f.status ?? null, f.workflowId ?? null, f.userId ?? null, f.eventIds ?? null, f.limit],
  );
  return r.rows.map(toRecord);
}

/** Puts dead dispatches back in the queue with a fresh attempt budget. */
export async function replayDead(
  q: Queryable,
  f: {
    ids?: readonly string[] | undefined;
    workflowId?: string | undefined;
    userId?: string | undefined;
    now: string;
  },
): Promise<string[]> {
  const r = await q.query<{ id: string }>(
    `UPDATE dispatches SET status = 'pending', attempts = 0, next_attempt_at = $4, completed_at = NULL,
       updated_at = $4
     WHERE status = 'dead' AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
       AND ($2::text IS NULL OR workflow_id = $2) AND ($3::text IS NULL OR user_id = $3)
     RETURNING id`,
    [f.ids ?? null, f.workflowId ?? null, f.userId ?? null, f.now],
  );
  return r.rows.map((x) => x.id);
}

/** Backlog figures for health and metrics; each count reads a partial index, never the whole table. */
export async function dispatchStats(
  q: Queryable,
  now: string,
): Promise<{ pending: number; due: number; inFlight: number; dead: number; oldestDueAt: string | null }> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT
       (SELECT count(*) FROM dispatches WHERE status = 'pending')::int AS pending,
       (SELECT count(*) FROM dispatches WHERE status = 'pending' AND next_attempt_at <= $1)::int AS due,
       (SELECT count(*) FROM dispatches WHERE status = 'in_flight')::int AS in_flight,
       (SELECT count(*) FROM dispatches WHERE status = 'dead')::int AS dead,
       (SELECT min(next_attempt_at) FROM dispatches WHERE status = 'pending' AND next_attempt_at <= $1) AS oldest_due`,
    [now],
  );
  const x = r.rows[0] ?? {};
  return {
    pending: Number(x.pending ?? 0),
    due: Number(x.due ?? 0),
    inFlight: Number(x.in_flight ?? 0),
    dead: Number(x.dead ?? 0),
    oldestDueAt: iso(x.oldest_due),
  };
}
