import { type Db, ms, type Queryable, ts } from '../../db/db.js';
import type { CronConfig } from './config.js';
import { DEFAULT_DST_POLICY, type DstPolicy, dstPolicyOf } from './schedule.js';

/**
 * SQL of the scheduler runtime (tables of migrations/0002_cron.sql). Every write is one statement per
 * batch of fires (unnest of arrays), rows sorted by key so concurrent replicas never deadlock.
 */

export type FireSource = 'schedule' | 'catchup' | 'run_now';
export type FireOutcome = 'claimed' | 'fired' | 'missed' | 'skipped' | 'dropped';

/** A CRON trigger with what restore needs: its last handled tick and its stored next tick. */
export interface ScheduleRow {
  triggerId: string;
  workflowId: string;
  nodeId: string;
  config: CronConfig;
  active: boolean;
  /** trigger_index.updated_at: deploy, resume or change; fires before it are not caught up. */
  updatedAt: number;
  lastNominal: number | null;
  lastNext: number | null;
  lastNextEffective: number | null;
  seedSpec: string | null;
  seedSince: number | null;
  seedNext: number | null;
  seedNextEffective: number | null;
}

export interface ClaimRow {
  workflowId: string;
  nodeId: string;
  nominal: number;
  effective: number;
  /** The schedule's next nominal and effective instants after this one (restore point). */
  next: number | null;
  nextEffective: number | null;
  source: FireSource;
}

export const fireKey = (workflowId: string, nodeId: string, nominal: number) =>
  `${workflowId}\u0000${nodeId}\u0000${nominal}`;

const bySortKey = <T extends { workflowId: string; nodeId: string; nominal: number }>(a: T, b: T) =>
  a.workflowId < b.workflowId
    ? -1
    : a.workflowId > b.workflowId
      ? 1
      : a.nodeId < b.nodeId
        ? -1
        : a.nodeId > b.nodeId
          ? 1
          : a.nominal - b.nominal;

const tsOrNull = (v: number | null) => (v === null ? null : ts(v));

// date_part, not extract: since PostgreSQL 14 extract computes in numeric, a third of the restore query's time.
const epoch = (col: string, as: string) => `date_part('epoch', ${col}) * 1000 AS ${as}`;

/** One row per CRON trigger with its newest fire record and its seed; instants as epoch ms (no Date parsing). */
// The configuration's fields the loop uses, as columns: cheaper to read than the JSON document.
const CONFIG = [
  'cron_expression',
  'timezone',
  'jitter_seconds',
  'catchup_window_seconds',
  'catchup_policy',
  'overlap_policy',
  'max_missed_runs',
]
  .map((k) => `t.trigger_config->>'${k}' AS c_${k}`)
  .join(', ');

const SCHEDULES = `SELECT t.id, t.workflow_id, t.trigger_node_id, ${CONFIG},
    t.trigger_config->'dst_policy'->>'gap' AS c_gap, t.trigger_config->'dst_policy'->>'overlap' AS c_overlap,
    ${epoch('t.updated_at', 'updated')},
    (t.enabled AND t.deployment_status = 'active') AS active,
    ${epoch('f.nominal_at', 'last_nominal')}, ${epoch('f.next_nominal_at', 'last_next')},
    ${epoch('f.next_effective_at', 'last_next_eff')},
    s.spec AS seed_spec, ${epoch('s.since_at', 'seed_since')}, ${epoch('s.next_nominal_at', 'seed_next')},
    ${epoch('s.next_effective_at', 'seed_next_eff')}
  FROM trigger_index t
  LEFT JOIN cron_schedules s ON s.workflow_id = t.workflow_id AND s.node_id = t.trigger_node_id
  LEFT JOIN LATERAL (
    SELECT c.nominal_at, c.next_nominal_at, c.next_effective_at FROM cron_fires c
    WHERE c.workflow_id = t.workflow_id AND c.node_id = t.trigger_node_id AND c.source <> 'run_now'
    ORDER BY c.nominal_at DESC LIMIT 1) f ON true
  WHERE t.trigger_subtype = 'CRON'`;

/** The stored policy (validated at deploy); a row from an older format falls back to the default. */
function dstPolicy(gap: unknown, overlap: unknown): DstPolicy {
  try {
    return dstPolicyOf({ gap: gap ?? undefined, overlap: overlap ?? undefined });
  } catch {
    return DEFAULT_DST_POLICY;
  }
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toScheduleRow(x: Record<string, unknown>): ScheduleRow {
  return {
    triggerId: String(x.id),
    workflowId: String(x.workflow_id),
    nodeId: String(x.trigger_node_id),
    config: {
      cron_expression: String(x.c_cron_expression),
      timezone: String(x.c_timezone),
      jitter_seconds: Number(x.c_jitter_seconds ?? 0),
      catchup_window_seconds: Number(x.c_catchup_window_seconds ?? 0),
      catchup_policy: (x.c_catchup_policy ?? 'latest') as CronConfig['catchup_policy'],
      overlap_policy: (x.c_overlap_policy ?? 'allow') as CronConfig['overlap_policy'],
      dst_policy: dstPolicy(x.c_gap, x.c_overlap),
      max_missed_runs: Number(x.c_max_missed_runs ?? 3),
    },
    active: Boolean(x.active),
    updatedAt: num(x.updated) ?? 0,
    lastNominal: num(x.last_nominal),
    lastNext: num(x.last_next),
    lastNextEffective: num(x.last_next_eff),
    seedSpec: (x.seed_spec as string | null) ?? null,
    seedSince: num(x.seed_since),
    seedNext: num(x.seed_next),
    seedNextEffective: num(x.seed_next_eff),
  };
}

/** The CRON triggers of one workflow, active or not (a change notification). */
export async function loadWorkflowSchedules(q: Queryable, workflowId: string): Promise<ScheduleRow[]> {
  const r = await q.query<Record<string, unknown>>(`${SCHEDULES} AND t.workflow_id = $1`, [workflowId]);
  return r.rows.map(toScheduleRow);
}

/**
 * Every active CRON trigger, streamed from one query through a cursor in batches: one consistent snapshot,
 * no sort and no per-batch re-planning, whatever the table statistics say.
 */
export async function streamSchedules(
  db: Db,
  batch: number,
  onRows: (rows: ScheduleRow[]) => void,
): Promise<void> {
  await db.tx(async (q) => {
    await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // Plan for the whole result (hash joins), not for the first rows as cursors do by default. No JIT:
    // at 100k schedules the estimate passes jit_optimize_above_cost, and compiling took longer (0.6 s) than
    // the query saved.
    await q.query('SET LOCAL cursor_tuple_fraction = 1');
    await q.query('SET LOCAL jit = off');
    await q.query(
      `DECLARE cron_restore NO SCROLL CURSOR FOR ${SCHEDULES} AND t.enabled AND t.deployment_status = 'active'`,
    );
    const fetch = () => {
      const p = q.query<Record<string, unknown>>(`FETCH ${Math.floor(batch)} FROM cron_restore`);
      p.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      return p;
    };
    let pending = fetch();
    for (;;) {
      const r = await pending;
      const more = r.rows.length === batch;
      // The database produces the next batch while this one is applied.
      if (more) pending = fetch();
      onRows(r.rows.map(toScheduleRow));
      if (!more) break;
    }
    await q.query('CLOSE cron_restore');
  });
}

export async function countActiveSchedules(q: Queryable): Promise<number> {
  const r = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM trigger_index
     WHERE trigger_subtype = 'CRON' AND enabled AND deployment_status = 'active'`,
  );
  return r.rows[0]?.n ?? 0;
}

/** Workflows whose triggers or deployment changed after `since` (reconciliation backstop of NOTIFY), at most limit. */
export async function changedWorkflowIds(q: Queryable, since: number, limit: number): Promise<string[]> {
  const r = await q.query<{ id: string }>(
    `SELECT workflow_id AS id FROM trigger_index WHERE trigger_subtype = 'CRON' AND updated_at > $1
     UNION SELECT id FROM workflows WHERE updated_at > $1 LIMIT $2`,
    [ts(since), limit],
  );
  return r.rows.map((x) => x.id);
}

/** Inserts claims; returns the keys (fireKey) this call won. Lost keys belong to another replica. */
export async function claimFires(
  q: Queryable,
  rows: readonly ClaimRow[],
  o: { now: number; by: string; leaseUntil: number },
  /** Outcomes of earlier claims, written by the same statement (one round trip for both). */
  finish: readonly FinishRow[] = [],
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const sorted = [...rows].sort(bySortKey);
  const r = await q.query<{ workflow_id: string; node_id: string; nominal_at: unknown }>(
    `WITH fin AS (${finishSql(11)} RETURNING 1)
     INSERT INTO cron_fires (workflow_id, node_id, nominal_at, effective_at, next_nominal_at, next_effective_at,
       source, outcome, recorded_at, claimed_by, lease_until)
     SELECT x.w, x.n, x.nom, x.eff, x.nxt, x.nxe, x.src, 'claimed', $8, $9, $10
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
       $6::timestamptz[], $7::text[]) WITH ORDINALITY AS x(w, n, nom, eff, nxt, nxe, src, i)
     ORDER BY x.i
     ON CONFLICT DO NOTHING
     RETURNING workflow_id, node_id, nominal_at`,
    [
      ...tickColumns(sorted),
      sorted.map((x) => x.source),
      ts(o.now),
      o.by,
      ts(o.leaseUntil),
      ...finishParams(finish),
    ],
  );
  return new Set(r.rows.map((x) => fireKey(x.workflow_id, x.node_id, ms(x.nominal_at) ?? 0)));
}

/** The first six parameter arrays of a tick insert: workflow, node, nominal, effective, next pair. */
function tickColumns(rows: readonly Omit<ClaimRow, 'source'>[]): unknown[][] {
  return [
    rows.map((x) => x.workflowId),
    rows.map((x) => x.nodeId),
    rows.map((x) => ts(x.nominal)),
    rows.map((x) => ts(x.effective)),
    rows.map((x) => tsOrNull(x.next)),
    rows.map((x) => tsOrNull(x.nextEffective)),
  ];
}

/** Records ticks that will not run, with the reason; a tick already claimed keeps its row. */
export async function recordMissed(
  q: Queryable,
  rows: readonly (Omit<ClaimRow, 'source'> & { reason: string })[],
  now: number,
): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort(bySortKey);
  await q.query(
    `INSERT INTO cron_fires (workflow_id, node_id, nominal_at, effective_at, next_nominal_at, next_effective_at,
       source, outcome, reason, recorded_at)
     SELECT x.w, x.n, x.nom, x.eff, x.nxt, x.nxe, 'schedule', 'missed', x.reason, $8
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
       $6::timestamptz[], $7::text[]) WITH ORDINALITY AS x(w, n, nom, eff, nxt, nxe, reason, i)
     ORDER BY x.i
     ON CONFLICT DO NOTHING`,
    [...tickColumns(sorted), sorted.map((x) => x.reason), ts(now)],
  );
}

export interface FinishRow {
  workflowId: string;
  nodeId: string;
  nominal: number;
  outcome: Exclude<FireOutcome, 'claimed' | 'missed'>;
  reason: string | null;
  eventId: string | null;
  firedAt: number | null;
}

const finishSql = (p: number) =>
  `UPDATE cron_fires f SET outcome = x.outcome, reason = x.reason, event_id = x.event_id, fired_at = x.fired_at,
     lease_until = NULL
   FROM unnest($${p}::text[], $${p + 1}::text[], $${p + 2}::timestamptz[], $${p + 3}::text[], $${p + 4}::text[],
     $${p + 5}::uuid[], $${p + 6}::timestamptz[]) AS x(w, n, nom, outcome, reason, event_id, fired_at)
   WHERE f.workflow_id = x.w AND f.node_id = x.n AND f.nominal_at = x.nom AND f.outcome = 'claimed'`;

function finishParams(rows: readonly FinishRow[]): unknown[] {
  const sorted = [...rows].sort(bySortKey);
  return [
    sorted.map((x) => x.workflowId),
    sorted.map((x) => x.nodeId),
    sorted.map((x) => ts(x.nominal)),
    sorted.map((x) => x.outcome),
    sorted.map((x) => x.reason),
    sorted.map((x) => x.eventId),
    sorted.map((x) => tsOrNull(x.firedAt)),
  ];
}

/** Final outcome of claimed fires (one statement per batch). */
export async function finishFires(q: Queryable, rows: readonly FinishRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(finishSql(1), finishParams(rows));
}

/** Takes over claims whose owner did not finish within its lease (a crashed or stalled replica). */
export async function takeOverOrphans(
  q: Queryable,
  o: { now: number; by: string; leaseUntil: number; limit: number; all?: boolean },
): Promise<ClaimRow[]> {
  const r = await q.query<Record<string, unknown>>(
    `UPDATE cron_fires f SET claimed_by = $2, lease_until = $3
     FROM (SELECT workflow_id, node_id, nominal_at FROM cron_fires
           WHERE outcome = 'claimed' AND ($5::boolean OR lease_until < $1)
           ORDER BY lease_until LIMIT $4 FOR UPDATE SKIP LOCKED) o
     WHERE f.workflow_id = o.workflow_id AND f.node_id = o.node_id AND f.nominal_at = o.nominal_at
     RETURNING f.workflow_id, f.node_id, f.nominal_at, f.effective_at, f.next_nominal_at, f.next_effective_at,
       f.source`,
    [ts(o.now), o.by, ts(o.leaseUntil), o.limit, o.all === true],
  );
  return r.rows.map((x) => ({
    workflowId: String(x.workflow_id),
    nodeId: String(x.node_id),
    nominal: ms(x.nominal_at) ?? 0,
    effective: ms(x.effective_at) ?? 0,
    next: ms(x.next_nominal_at),
    nextEffective: ms(x.next_effective_at),
    source: x.source as FireSource,
  }));
}

export interface SeedRow {
  workflowId: string;
  nodeId: string;
  spec: string;
  since: number;
  next: number | null;
  nextEffective: number | null;
}

/** Stores where a schedule starts and its first tick from there, so a restart needs no cron math. */
export async function upsertSeeds(q: Queryable, rows: readonly SeedRow[], now: number): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => bySortKey({ ...a, nominal: 0 }, { ...b, nominal: 0 }));
  await q.query(
    `INSERT INTO cron_schedules (workflow_id, node_id, spec, since_at, next_nominal_at, next_effective_at, updated_at)
     SELECT x.w, x.n, x.spec, x.since, x.nxt, x.nxe, $7
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
       WITH ORDINALITY AS x(w, n, spec, since, nxt, nxe, i)
     ORDER BY x.i
     ON CONFLICT (workflow_id, node_id) DO UPDATE SET spec = EXCLUDED.spec, since_at = EXCLUDED.since_at,
       next_nominal_at = EXCLUDED.next_nominal_at, next_effective_at = EXCLUDED.next_effective_at,
       updated_at = EXCLUDED.updated_at
     WHERE cron_schedules.spec <> EXCLUDED.spec OR cron_schedules.since_at <> EXCLUDED.since_at`,
    [
      sorted.map((x) => x.workflowId),
      sorted.map((x) => x.nodeId),
      sorted.map((x) => x.spec),
      sorted.map((x) => ts(x.since)),
      sorted.map((x) => tsOrNull(x.next)),
      sorted.map((x) => tsOrNull(x.nextEffective)),
      ts(now),
    ],
  );
}

/** Deletes fire records older than the retention, keeping each schedule's newest (its restore point). */
export async function pruneFires(q: Queryable, before: number, limit = 10_000): Promise<number> {
  const r = await q.query(
    `DELETE FROM cron_fires f
     USING (SELECT workflow_id, node_id, nominal_at FROM cron_fires c
            WHERE c.recorded_at < $1 AND c.outcome <> 'claimed'
              AND EXISTS (SELECT 1 FROM cron_fires g WHERE g.workflow_id = c.workflow_id AND g.node_id = c.node_id
                          AND g.nominal_at > c.nominal_at AND g.source <> 'run_now')
            LIMIT $2) o
     WHERE f.workflow_id = o.workflow_id AND f.node_id = o.node_id AND f.nominal_at = o.nominal_at`,
    [ts(before), limit],
  );
  return r.rowCount;
}
