import { iso, type Queryable } from '../../db/db.js';
import type { FireOutcome, FireSource } from './store.js';

/** Read side of the scheduler tables: fire history, counters, the previous dispatch (overlap). */

export interface FireView {
  nominal_time: string;
  effective_time: string;
  source: FireSource;
  outcome: FireOutcome;
  reason: string | null;
  claimed_at: string | null;
  fired_at: string | null;
  event_id: string | null;
  dispatch: {
    id: string;
    status: string;
    dispatched_at: string | null;
    execution_id: string | null;
    last_error_code: string | null;
  } | null;
}

export async function listFires(
  q: Queryable,
  workflowId: string,
  nodeId: string,
  o: { limit: number; outcome?: FireOutcome | undefined; before?: string | undefined },
): Promise<FireView[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT f.nominal_at, f.effective_at, f.source, f.outcome, f.reason, f.recorded_at, f.fired_at, f.event_id,
       d.id AS dispatch_id, d.status AS dispatch_status, d.completed_at, d.execution_id, d.last_error_code
     FROM cron_fires f
     LEFT JOIN LATERAL (SELECT id, status, completed_at, execution_id, last_error_code FROM dispatches d
                        WHERE d.event_id = f.event_id ORDER BY d.created_at LIMIT 1) d ON true
     WHERE f.workflow_id = $1 AND f.node_id = $2 AND ($3::text IS NULL OR f.outcome = $3)
       AND ($4::timestamptz IS NULL OR f.nominal_at < $4)
     ORDER BY f.nominal_at DESC LIMIT $5`,
    [workflowId, nodeId, o.outcome ?? null, o.before ?? null, o.limit],
  );
  return r.rows.map((x) => ({
    nominal_time: iso(x.nominal_at) ?? '',
    effective_time: iso(x.effective_at) ?? '',
    source: x.source as FireSource,
    outcome: x.outcome as FireOutcome,
    reason: (x.reason as string | null) ?? null,
    claimed_at: iso(x.recorded_at),
    fired_at: iso(x.fired_at),
    event_id: (x.event_id as string | null) ?? null,
    dispatch: x.dispatch_id
      ? {
          id: String(x.dispatch_id),
          status: String(x.dispatch_status),
          // When the engine accepted the run.
          dispatched_at: x.dispatch_status === 'succeeded' ? iso(x.completed_at) : null,
          execution_id: (x.execution_id as string | null) ?? null,
          last_error_code: (x.last_error_code as string | null) ?? null,
        }
      : null,
  }));
}

export interface FireCounters {
  fired: number;
  missed: number;
  skipped: number;
  dropped: number;
  claimed: number;
  catchup_fired: number;
  run_now: number;
}

export async function countFires(q: Queryable, workflowId: string, nodeId: string): Promise<FireCounters> {
  const r = await q.query<{ outcome: FireOutcome; source: FireSource; n: number }>(
    `SELECT outcome, source, count(*)::int AS n FROM cron_fires WHERE workflow_id = $1 AND node_id = $2
     GROUP BY outcome, source`,
    [workflowId, nodeId],
  );
  const c: FireCounters = {
    fired: 0,
    missed: 0,
    skipped: 0,
    dropped: 0,
    claimed: 0,
    catchup_fired: 0,
    run_now: 0,
  };
  for (const x of r.rows) {
    c[x.outcome] += x.n;
    if (x.outcome === 'fired' && x.source === 'catchup') c.catchup_fired += x.n;
    if (x.source === 'run_now') c.run_now += x.n;
  }
  return c;
}

/** The newest dispatch of a trigger (overlap: is the previous run still going?). */
export async function lastDispatchOf(
  q: Queryable,
  workflowId: string,
  nodeId: string,
): Promise<{ id: string; status: string; executionId: string | null } | undefined> {
  const r = await q.query<{ id: string; status: string; execution_id: string | null }>(
    `SELECT id, status, execution_id FROM dispatches WHERE workflow_id = $1 AND trigger_node_id = $2
     ORDER BY created_at DESC LIMIT 1`,
    [workflowId, nodeId],
  );
  const x = r.rows[0];
  return x ? { id: x.id, status: x.status, executionId: x.execution_id } : undefined;
}
