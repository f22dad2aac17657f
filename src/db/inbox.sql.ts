import { json, type Queryable, statement } from './db.js';
import {
  completionParams,
  completionSql,
  type DispatchUpdate,
  type NewDispatchRow,
} from './dispatches.sql.js';
import type { NewEventRow } from './events.sql.js';

const inboxSql = (outcomes: boolean) =>
  `WITH fresh AS (
       SELECT $3::bigint IS NULL OR EXISTS (SELECT 1 FROM trigger_index_version WHERE version = $3::bigint) AS ok
     ), ev AS (
       INSERT INTO events (id, kind, idempotency_key, index_key, payload, meta, received_at, matched_count)
       SELECT x.id, x.kind, x.idempotency_key, x.index_key, x.payload, x.meta, x.received_at, x.matched_count
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, kind text, idempotency_key text, index_key text,
         payload jsonb, meta jsonb, received_at timestamptz, matched_count integer)
       WHERE (SELECT ok FROM fresh)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id
     ), d AS (
       INSERT INTO dispatches (id, event_id, workflow_id, trigger_node_id, kind, user_id, trigger_data, resume_mode,
         status, attempts, next_attempt_at, not_before, lease_until, claim_token, created_at, updated_at)
       SELECT x.id, x.event_id, x.workflow_id, x.node_id, x.kind, x.user_id, x.trigger_data, x.resume_mode,
         CASE WHEN x.claim_token IS NULL THEN 'pending' ELSE 'in_flight' END,
         CASE WHEN x.claim_token IS NULL THEN 0 ELSE 1 END,
         COALESCE(x.not_before, x.now), x.not_before, x.lease_until, x.claim_token, x.now, x.now
       FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, event_id uuid, workflow_id text, node_id text, kind text,
         user_id text, trigger_data jsonb, resume_mode text, claim_token uuid, lease_until timestamptz,
         not_before timestamptz, now timestamptz)
       WHERE x.event_id IN (SELECT id FROM ev)
     )${outcomes ? `, done AS (${completionSql(4)})` : ''}
     SELECT id::text FROM ev
     UNION ALL SELECT NULL WHERE NOT (SELECT ok FROM fresh)`;

const STMT_INBOX_WRITE = statement('inbox_write', inboxSql(false));
// With outcomes it is planned per call, as their own statement is (dispatches.sql.ts): a generic plan
// made on a new database joins the outcomes with a scan of the whole dispatches table.
const STMT_INBOX_WRITE_OUTCOMES = statement('inbox_write_outcomes', inboxSql(true), { prepare: false });

/**
 * The inbox write: events and their dispatches in ONE statement (atomic on its own, so the common path
 * needs no explicit transaction and a single round trip). It also writes `outcomes`, finished engine calls
 * of earlier dispatches, whatever else happens (stale or not): while events keep arriving, the outcomes
 * share their commit instead of taking one of their own. An idempotency key already stored inserts
 * nothing, and its dispatches are dropped with it. Returns the ids of the events inserted, or `stale`
 * (nothing written) when the batch was routed by triggers read at `routedAt`, a trigger_index version
 * that is no longer current. With `routedAt` the check runs even when there is nothing to insert: a
 * batch whose events were all refused (no trigger, trigger paused) was decided at that version too.
 */
export async function writeInbox(
  q: Queryable,
  events: readonly NewEventRow[],
  dispatches: readonly NewDispatchRow[],
): Promise<Set<string>>;
export async function writeInbox(
  q: Queryable,
  events: readonly NewEventRow[],
  dispatches: readonly NewDispatchRow[],
  routedAt: string | null,
  outcomes?: readonly DispatchUpdate[],
): Promise<Set<string> | 'stale'>;
export async function writeInbox(
  q: Queryable,
  events: readonly NewEventRow[],
  dispatches: readonly NewDispatchRow[],
  routedAt: string | null = null,
  outcomes: readonly DispatchUpdate[] = [],
): Promise<Set<string> | 'stale'> {
  if (events.length === 0 && routedAt === null && outcomes.length === 0) return new Set();
  const r = await q.query<{ id: string | null }>(
    outcomes.length ? STMT_INBOX_WRITE_OUTCOMES : STMT_INBOX_WRITE,
    [
      json(
        events.map((e) => ({
          id: e.id,
          kind: e.kind,
          idempotency_key: e.idempotencyKey,
          index_key: e.indexKey,
          payload: e.payload,
          meta: e.meta,
          received_at: e.receivedAt,
          matched_count: e.matchedCount,
        })),
      ),
      json(
        dispatches.map((d) => ({
          id: d.id,
          event_id: d.eventId,
          workflow_id: d.workflowId,
          node_id: d.nodeId,
          kind: d.kind,
          user_id: d.userId,
          trigger_data: d.triggerData,
          resume_mode: d.resumeMode,
          claim_token: d.claimToken,
          lease_until: d.leaseUntil,
          not_before: d.notBefore,
          now: d.now,
        })),
      ),
      routedAt,
      ...(outcomes.length ? completionParams(outcomes) : []),
    ],
  );
  if (r.rows.some((x) => x.id === null)) return 'stale';
  return new Set(r.rows.map((x) => x.id as string));
}
