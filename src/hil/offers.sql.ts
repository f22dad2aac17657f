import { iso, json, type Queryable } from '../db/db.js';
import type { Match } from './match.js';
import type { WaitStatus } from './waits.sql.js';

/**
 * Serialises offering events to a workflow's waits with registering its waits: without it, an event
 * that saw no wait and a wait that saw no remembered event could both commit, and the answer would be lost.
 */
export async function lockWorkflowWaits(q: Queryable, workflowId: string): Promise<void> {
  await q.query(`SELECT pg_advisory_xact_lock(7341, hashtext($1))`, [workflowId]);
}

export interface OpenWait {
  id: string;
  executionId: string;
  interactionId: string;
  match: Match;
  askedAt: number | null;
}

/** The open, unexpired waits an event of this workflow and kind is offered to, oldest first. */
export async function openWaits(
  q: Queryable,
  workflowId: string,
  kind: string,
  now: string,
  limit: number,
): Promise<OpenWait[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT id, execution_id, interaction_id, match, asked_at FROM hil_waits
     WHERE workflow_id = $1 AND kind = $2 AND status = 'open' AND expires_at > $3
     ORDER BY created_at, id LIMIT $4`,
    [workflowId, kind, now, limit],
  );
  return r.rows.map((x) => ({
    id: String(x.id),
    executionId: String(x.execution_id),
    interactionId: String(x.interaction_id),
    match: x.match as Match,
    askedAt: x.asked_at ? new Date(iso(x.asked_at)!).getTime() : null,
  }));
}

/** Takes an open wait for a dispatch; false when it was taken, expired or cancelled meanwhile. */
export async function claimWait(
  q: Queryable,
  c: {
    waitId: string;
    dispatchId: string;
    eventId: string;
    source: 'live' | 'lookback';
    sourceDispatchId: string | null;
    now: string;
  },
): Promise<boolean> {
  const r = await q.query(
    `UPDATE hil_waits SET status = 'resuming', dispatch_id = $2, event_id = $3, source = $4,
       source_dispatch_id = $5, matched_at = $6, updated_at = $6
     WHERE id = $1 AND status = 'open' AND expires_at > $6`,
    [c.waitId, c.dispatchId, c.eventId, c.source, c.sourceDispatchId, c.now],
  );
  return r.rowCount > 0;
}

/** What the resolver needs to know about a dispatch before offering it to open waits. */
export interface DispatchContext {
  receivedAt: number;
  /** A resume delivery created by a lookback match (its event is a copy made for it). */
  derived: boolean;
  /** The wait this dispatch already holds (a retry, a replay, or a lookback delivery). */
  claim: { id: string; status: WaitStatus; executionId: string; interactionId: string } | null;
  /** The dispatch was offered before and satisfied no wait: it runs as a new execution. */
  offered: boolean;
}

/** Contexts of several dispatches in one query, by dispatch id. */
export async function dispatchContexts(
  q: Queryable,
  items: readonly { dispatchId: string; eventId: string }[],
): Promise<Map<string, DispatchContext>> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT x.dispatch_id, e.received_at, e.idempotency_key, w.id AS wait_id, w.status, w.execution_id,
       w.interaction_id, a.dispatch_id AS offered
     FROM unnest($1::uuid[], $2::uuid[]) AS x(dispatch_id, event_id)
     JOIN events e ON e.id = x.event_id
     LEFT JOIN hil_waits w ON w.dispatch_id = x.dispatch_id
     LEFT JOIN hil_lookback a ON a.dispatch_id = x.dispatch_id`,
    [items.map((i) => i.dispatchId), items.map((i) => i.eventId)],
  );
  return new Map(
    r.rows.map((x) => [
      String(x.dispatch_id),
      {
        receivedAt: new Date(iso(x.received_at)!).getTime(),
        derived: String(x.idempotency_key).startsWith(DERIVED_KEY_PREFIX),
        claim: x.wait_id
          ? {
              id: String(x.wait_id),
              status: x.status as WaitStatus,
              executionId: String(x.execution_id),
              interactionId: String(x.interaction_id),
            }
          : null,
        offered: x.offered !== null && x.offered !== undefined,
      },
    ]),
  );
}

/** Idempotency-key prefix of the events copied for lookback resumes (ingress keys start with their kind). */
export const DERIVED_KEY_PREFIX = 'HIL:lookback:';

export interface Answer {
  dispatchId: string;
  eventId: string;
  workflowId: string;
  kind: string;
  receivedAt: string;
}

/** Remembers dispatches that satisfied no wait, for the lookback window. */
export async function rememberAnswers(q: Queryable, answers: readonly Answer[], now: string): Promise<void> {
  if (answers.length === 0) return;
  await q.query(
    `INSERT INTO hil_lookback (dispatch_id, event_id, workflow_id, kind, received_at, offered_at)
     SELECT x.dispatch_id, x.event_id, x.workflow_id, x.kind, x.received_at, $2
     FROM jsonb_to_recordset($1::jsonb) AS x(dispatch_id uuid, event_id uuid, workflow_id text, kind text,
       received_at timestamptz)
     ON CONFLICT (dispatch_id) DO NOTHING`,
    [
      json(
        answers.map((a) => ({
          dispatch_id: a.dispatchId,
          event_id: a.eventId,
          workflow_id: a.workflowId,
          kind: a.kind,
          received_at: a.receivedAt,
        })),
      ),
      now,
    ],
  );
}

export interface RememberedAnswer {
  dispatchId: string;
  eventId: string;
  nodeId: string;
  userId: string;
  indexKey: string;
  receivedAt: number;
  payload: Record<string, unknown>;
  triggerData: Record<string, unknown>;
}

/**
 * Answers remembered since `since` that no wait took yet, oldest first. An answer that started this very
 * execution is left out: an execution never resumes itself with the event that started it.
 */
export async function rememberedAnswers(
  q: Queryable,
  f: { workflowId: string; kind: string; since: string; excludeExecutionId: string; limit: number },
): Promise<RememberedAnswer[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT a.dispatch_id, a.event_id, a.received_at, d.trigger_node_id, d.user_id, d.trigger_data, e.payload,
       e.index_key
     FROM hil_lookback a JOIN dispatches d ON d.id = a.dispatch_id JOIN events e ON e.id = a.event_id
     WHERE a.workflow_id = $1 AND a.kind = $2 AND a.wait_id IS NULL AND a.offered_at >= $3
       AND d.execution_id IS DISTINCT FROM $4
     ORDER BY a.offered_at, a.dispatch_id LIMIT $5`,
    [f.workflowId, f.kind, f.since, f.excludeExecutionId, f.limit],
  );
  return r.rows.map((x) => ({
    dispatchId: String(x.dispatch_id),
    eventId: String(x.event_id),
    nodeId: String(x.trigger_node_id),
    userId: String(x.user_id),
    indexKey: String(x.index_key ?? ''),
    receivedAt: new Date(iso(x.received_at)!).getTime(),
    payload: x.payload as Record<string, unknown>,
    triggerData: x.trigger_data as Record<string, unknown>,
  }));
}

export async function takeAnswer(q: Queryable, dispatchId: string, waitId: string): Promise<void> {
  await q.query('UPDATE hil_lookback SET wait_id = $2 WHERE dispatch_id = $1', [dispatchId, waitId]);
}
