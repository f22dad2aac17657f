import { iso, json, type Queryable } from './db.js';

export const DEPLOYMENT_STATUSES = ['UNDEPLOYED', 'DEPLOYING', 'DEPLOYED', 'DEPLOYMENT_FAILED'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export interface WorkflowRecord {
  id: string;
  userId: string;
  name: string;
  spec: Record<string, unknown>;
  status: DeploymentStatus;
  version: number;
  activeVersion: number | null;
  lastErrorCode: string | null;
  lastError: string | null;
  deployedAt: string | null;
  deployedBy: string | null;
  undeployedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  spec: Record<string, unknown>;
  deployment_status: DeploymentStatus;
  version: number;
  active_version: number | null;
  last_error_code: string | null;
  last_error: string | null;
  deployed_at: unknown;
  deployed_by: string | null;
  undeployed_at: unknown;
  created_at: unknown;
  updated_at: unknown;
}

const COLUMNS = `id, user_id, name, spec, deployment_status, version, active_version, last_error_code, last_error,
  deployed_at, deployed_by, undeployed_at, created_at, updated_at`;

function toRecord(r: Row): WorkflowRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    spec: r.spec,
    status: r.deployment_status,
    version: r.version,
    activeVersion: r.active_version,
    lastErrorCode: r.last_error_code,
    lastError: r.last_error,
    deployedAt: iso(r.deployed_at),
    deployedBy: r.deployed_by,
    undeployedAt: iso(r.undeployed_at),
    createdAt: iso(r.created_at) ?? '',
    updatedAt: iso(r.updated_at) ?? '',
  };
}

/** Reads one workflow; `forUpdate` locks the row for the rest of the transaction. */
export async function getWorkflow(
  q: Queryable,
  id: string,
  forUpdate = false,
): Promise<WorkflowRecord | undefined> {
  const r = await q.query<Row>(
    `SELECT ${COLUMNS} FROM workflows WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return r.rows[0] ? toRecord(r.rows[0]) : undefined;
}

export async function listWorkflows(
  q: Queryable,
  opts: { userId?: string | undefined; status?: DeploymentStatus | undefined; limit: number; offset: number },
): Promise<WorkflowRecord[]> {
  const r = await q.query<Row>(
    `SELECT ${COLUMNS} FROM workflows
     WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR deployment_status = $2)
     ORDER BY updated_at DESC, id LIMIT $3 OFFSET $4`,
    [opts.userId ?? null, opts.status ?? null, opts.limit, opts.offset],
  );
  return r.rows.map(toRecord);
}

/** Creates the workflow or stores a new spec on it, and marks it DEPLOYING. Returns the previous status. */
export async function beginDeploy(
  q: Queryable,
  w: { id: string; userId: string; name: string; spec: Record<string, unknown>; now: string },
): Promise<void> {
  await q.query(
    `INSERT INTO workflows (id, user_id, name, spec, deployment_status, created_at, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, 'DEPLOYING', $5, $5)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, spec = EXCLUDED.spec,
       deployment_status = 'DEPLOYING', updated_at = EXCLUDED.updated_at`,
    [w.id, w.userId, w.name, json(w.spec), w.now],
  );
}

export async function markDeployed(
  q: Queryable,
  w: { id: string; version: number; by: string; now: string },
): Promise<void> {
  await q.query(
    `UPDATE workflows SET deployment_status = 'DEPLOYED', version = $2, active_version = $2, deployed_at = $4,
       deployed_by = $3, last_error_code = NULL, last_error = NULL, updated_at = $4
     WHERE id = $1`,
    [w.id, w.version, w.by, w.now],
  );
}

export async function markFailed(
  q: Queryable,
  w: { id: string; code: string; message: string; now: string },
): Promise<void> {
  await q.query(
    `UPDATE workflows SET deployment_status = 'DEPLOYMENT_FAILED', last_error_code = $2, last_error = $3, updated_at = $4
     WHERE id = $1`,
    [w.id, w.code, w.message, w.now],
  );
}

export async function setStatus(
  q: Queryable,
  id: string,
  status: DeploymentStatus,
  now: string,
): Promise<void> {
  await q.query('UPDATE workflows SET deployment_status = $2, updated_at = $3 WHERE id = $1', [
    id,
    status,
    now,
  ]);
}

export async function markUndeployed(q: Queryable, id: string, now: string): Promise<void> {
  await q.query(
    `UPDATE workflows SET deployment_status = 'UNDEPLOYED', active_version = NULL, undeployed_at = $2,
       last_error_code = NULL, last_error = NULL, updated_at = $2
     WHERE id = $1`,
    [id, now],
  );
}

/** Deploys interrupted by a crash: their transaction never committed, so their old triggers still stand. */
export async function failStaleDeploys(q: Queryable, olderThan: string, now: string): Promise<string[]> {
  const r = await q.query<{ id: string }>(
    `UPDATE workflows SET deployment_status = 'DEPLOYMENT_FAILED', last_error_code = 'SCHED_INTERNAL',
       last_error = 'the deployment was interrupted (process stopped)', updated_at = $2
     WHERE deployment_status = 'DEPLOYING' AND updated_at < $1
     RETURNING id`,
    [olderThan, now],
  );
  return r.rows.map((x) => x.id);
}

export async function countWorkflowsByStatus(q: Queryable): Promise<Record<string, number>> {
  const r = await q.query<{ deployment_status: string; n: number }>(
    'SELECT deployment_status, count(*)::int AS n FROM workflows GROUP BY deployment_status',
  );
  return Object.fromEntries(r.rows.map((x) => [x.deployment_status, x.n]));
}
