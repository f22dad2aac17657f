import { iso, json, type Queryable } from './db.js';

export interface NewEventRow {
  id: string;
  kind: string;
  idempotencyKey: string;
  indexKey: string;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
  receivedAt: string;
  matchedCount: number;
}

export interface EventRecord {
  id: string;
  kind: string;
  idempotencyKey: string;
  indexKey: string | null;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
  receivedAt: string;
  matchedCount: number;
}

export async function findEventIdsByKeys(
  q: Queryable,
  keys: readonly string[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const r = await q.query<{ id: string; idempotency_key: string }>(
    'SELECT id, idempotency_key FROM events WHERE idempotency_key = ANY($1::text[])',
    [keys],
  );
  return new Map(r.rows.map((x) => [x.idempotency_key, x.id]));
}

interface Row {
  id: string;
  kind: string;
  idempotency_key: string;
  index_key: string | null;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
  received_at: unknown;
  matched_count: number;
}

function toRecord(r: Row): EventRecord {
  return {
    id: r.id,
    kind: r.kind,
    idempotencyKey: r.idempotency_key,
    indexKey: r.index_key,
    payload: r.payload,
    meta: r.meta,
    receivedAt: iso(r.received_at) ?? '',
    matchedCount: r.matched_count,
  };
}

export async function getEvent(q: Queryable, id: string): Promise<EventRecord | undefined> {
  const r = await q.query<Row>('SELECT * FROM events WHERE id = $1', [id]);
  return r.rows[0] ? toRecord(r.rows[0]) : undefined;
}

/**
 * Events, newest first. With a workflow or user filter only events routed to that workflow/user are
 * listed (through their dispatches).
 */
export async function listEvents(
  q: Queryable,
  f: {
    workflowId?: string | undefined;
    userId?: string | undefined;
    kind?: string | undefined;
    before?: string | undefined;
    limit: number;
  },
): Promise<EventRecord[]> {
  const scoped = f.workflowId !== undefined || f.userId !== undefined;
  const r = await q.query<Row>(
    `SELECT e.* FROM events e
     WHERE ($1::text IS NULL OR e.kind = $1)
       AND ($2::timestamptz IS NULL OR e.received_at < $2)
       AND (NOT $5::boolean OR EXISTS (
         SELECT 1 FROM dispatches d WHERE d.event_id = e.id
           AND ($3::text IS NULL OR d.workflow_id = $3) AND ($4::text IS NULL OR d.user_id = $4)))
     ORDER BY e.received_at DESC, e.id DESC LIMIT $6`,
    [f.kind ?? null, f.before ?? null, f.workflowId ?? null, f.userId ?? null, scoped, f.limit],
  );
  return r.rows.map(toRecord);
}

/** Adds notes to an event after it was stored (e.g. a later explanation). */
export async function mergeEventMeta(q: Queryable, id: string, meta: Record<string, unknown>): Promise<void> {
  await q.query('UPDATE events SET meta = meta || $2::jsonb WHERE id = $1', [id, json(meta)]);
}

/**
 * Deletes up to `limit` events received before `before`, oldest first, with their dispatches (ON DELETE
 * CASCADE), and returns how many. An event is kept while any of its dispatches is unfinished (pending,
 * in flight) or was touched since `before` (a dead letter replayed lately): retention counts from the
 * last activity. SKIP LOCKED lets replicas purge side by side without waiting for each other.
 * OFFSET 0 keeps the dispatch check a lookup per event by the (event_id, …) index: as an anti-join the
 * planner may scan the whole outbox for every batch. The ids go to the primary key as an array, for the
 * same reason.
 */
export async function purgeEvents(q: Queryable, before: string, limit: number): Promise<number> {
  const r = await q.query(
    `DELETE FROM events WHERE id = ANY (ARRAY(
       SELECT e.id FROM events e
       WHERE e.received_at < $1::timestamptz
         AND NOT EXISTS (
           SELECT 1 FROM dispatches d WHERE d.event_id = e.id
             AND (d.status IN ('pending', 'in_flight') OR d.updated_at >= $1::timestamptz)
           OFFSET 0)
       ORDER BY e.received_at
       LIMIT $2
       FOR UPDATE OF e SKIP LOCKED))`,
    [before, limit],
  );
  return r.rowCount;
}
