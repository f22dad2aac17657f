import { randomUUID } from 'node:crypto';
import type { ResumeMode, TriggerRow, TriggerStatus } from '../triggers/types.js';
import { json, type Queryable, statement } from './db.js';

interface Row {
  id: string;
  workflow_id: string;
  trigger_node_id: string;
  trigger_subtype: string;
  trigger_config: object;
  index_key: string;
  enabled: boolean;
  deployment_status: TriggerStatus;
  resume_mode: ResumeMode;
  workflow_version: number;
  user_id: string;
}

const COLUMNS = `t.id, t.workflow_id, t.trigger_node_id, t.trigger_subtype, t.trigger_config, t.index_key, t.enabled,
  t.deployment_status, t.resume_mode, t.workflow_version, w.user_id`;

export function toTriggerRow(r: Row): TriggerRow {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    nodeId: r.trigger_node_id,
    kind: r.trigger_subtype,
    config: r.trigger_config,
    indexKey: r.index_key,
    enabled: r.enabled,
    status: r.deployment_status,
    resumeMode: r.resume_mode,
    userId: r.user_id,
    workflowVersion: r.workflow_version,
  };
}

export interface NewTrigger {
  nodeId: string;
  kind: string;
  config: object;
  indexKey: string;
  enabled: boolean;
  resumeMode: ResumeMode;
}

/**
 * Replaces the triggers of a workflow (inside the deploy transaction). A node that stays keeps its
 * trigger id, so state keyed by trigger (schedules, mailbox cursors) survives a redeploy.
 */
export async function replaceTriggers(
  q: Queryable,
  workflowId: string,
  version: number,
  triggers: readonly NewTrigger[],
  now: string,
): Promise<void> {
  await q.query(
    'DELETE FROM trigger_index WHERE workflow_id = $1 AND NOT (trigger_node_id = ANY($2::text[]))',
    [workflowId, triggers.map((t) => t.nodeId)],
  );
  if (triggers.length === 0) return;
  await q.query(
    `INSERT INTO trigger_index (id, workflow_id, trigger_node_id, trigger_subtype, trigger_config, index_key,
       deployment_status, enabled, resume_mode, workflow_version, created_at, updated_at)
     SELECT x.id, $1, x.node_id, x.kind, x.config, x.index_key, CASE WHEN x.enabled THEN 'active' ELSE 'inactive' END,
       x.enabled, x.resume_mode, $2, $3, $3
     FROM jsonb_to_recordset($4::jsonb) AS x(id uuid, node_id text, kind text, config jsonb, index_key text,
       enabled boolean, resume_mode text)
     ON CONFLICT (workflow_id, trigger_node_id) DO UPDATE SET trigger_subtype = EXCLUDED.trigger_subtype,
       trigger_config = EXCLUDED.trigger_config, index_key = EXCLUDED.index_key,
       deployment_status = EXCLUDED.deployment_status, enabled = EXCLUDED.enabled, resume_mode = EXCLUDED.resume_mode,
       workflow_version = EXCLUDED.workflow_version, updated_at = EXCLUDED.updated_at`,
    [
      workflowId,
      version,
      now,
      json(
        triggers.map((t) => ({
          id: randomUUID(),
          node_id: t.nodeId,
          kind: t.kind,
          config: t.config,
          index_key: t.indexKey,
          enabled: t.enabled,
          resume_mode: t.resumeMode,
        })),
      ),
    ],
  );
}

export async function deleteTriggers(q: Queryable, workflowId: string): Promise<number> {
  const r = await q.query('DELETE FROM trigger_index WHERE workflow_id = $1', [workflowId]);
  return r.rowCount;
}

// The routing reads are planned per call: a plan made while trigger_index was small (a new database)
// scans the whole table once thousands of triggers are deployed. The owner is read per trigger by its
// key: joined, the planner hashes the whole workflows table for a batch of 2,000 cron fires (26 ms per
// batch at 100k workflows against 17 ms).
const ROUTE_COLUMNS = COLUMNS.replace(
  'w.user_id',
  '(SELECT w.user_id FROM workflows w WHERE w.id = t.workflow_id) AS user_id',
);

const STMT_ROUTE_BY_INDEX_KEY = statement(
  'route_by_index_key',
  `SELECT ${ROUTE_COLUMNS}
     FROM unnest($1::text[], $2::text[]) AS k(kind, index_key)
     JOIN trigger_index t ON t.trigger_subtype = k.kind AND t.index_key = k.index_key`,
  { prepare: false },
);

/** Phase one of routing: every trigger under the given (kind, index key) pairs, with its owner. */
export async function findByIndexKeys(
  q: Queryable,
  keys: readonly { kind: string; indexKey: string }[],
): Promise<TriggerRow[]> {
  if (keys.length === 0) return [];
  const r = await q.query<Row>(STMT_ROUTE_BY_INDEX_KEY, [
    keys.map((k) => k.kind),
    keys.map((k) => k.indexKey),
  ]);
  return r.rows.map(toTriggerRow);
}

const STMT_ROUTE_BY_TRIGGER_ID = statement(
  'route_by_trigger_id',
  `SELECT ${ROUTE_COLUMNS} FROM trigger_index t WHERE t.id = ANY($1::uuid[])`,
  { prepare: false },
);

const STMT_TRIGGER_INDEX_VERSION = statement(
  'trigger_index_version',
  'SELECT version::text AS v FROM trigger_index_version',
  { prepare: false },
);

/** The trigger_index version (migration 0006): it moves with every change to the table. */
export async function readTriggerIndexVersion(q: Queryable): Promise<string> {
  const r = await q.query<{ v: string }>(STMT_TRIGGER_INDEX_VERSION);
  return r.rows[0]?.v ?? '0';
}

/** Triggers by id (events aimed at particular triggers, such as cron fires). */
export async function findByIds(q: Queryable, ids: readonly string[]): Promise<TriggerRow[]> {
  if (ids.length === 0) return [];
  const r = await q.query<Row>(STMT_ROUTE_BY_TRIGGER_ID, [ids]);
  return r.rows.map(toTriggerRow);
}

/** Other workflows already holding one of these keys (for kinds whose keys are unique, e.g. webhook paths). */
export async function findKeyOwners(
  q: Queryable,
  kind: string,
  keys: readonly string[],
  exceptWorkflowId: string,
): Promise<{ workflowId: string; indexKey: string }[]> {
  if (keys.length === 0) return [];
  const r = await q.query<{ workflow_id: string; index_key: string }>(
    `SELECT workflow_id, index_key FROM trigger_index
     WHERE trigger_subtype = $1 AND index_key = ANY($2::text[]) AND workflow_id <> $3`,
    [kind, keys, exceptWorkflowId],
  );
  return r.rows.map((x) => ({ workflowId: x.workflow_id, indexKey: x.index_key }));
}

export async function listTriggersOfWorkflow(q: Queryable, workflowId: string): Promise<TriggerRow[]> {
  return listTriggersOfWorkflows(q, [workflowId]);
}

export async function listTriggersOfWorkflows(
  q: Queryable,
  workflowIds: readonly string[],
): Promise<TriggerRow[]> {
  if (workflowIds.length === 0) return [];
  const r = await q.query<Row>(
    `SELECT ${COLUMNS} FROM trigger_index t JOIN workflows w ON w.id = t.workflow_id
     WHERE t.workflow_id = ANY($1::text[]) ORDER BY t.workflow_id, t.trigger_node_id`,
    [workflowIds],
  );
  return r.rows.map(toTriggerRow);
}

/** All triggers of some kinds (start-up restore of listeners and the scheduler loop). */
export async function listTriggersOfKind(q: Queryable, kind: string): Promise<TriggerRow[]> {
  const r = await q.query<Row>(
    `SELECT ${COLUMNS} FROM trigger_index t JOIN workflows w ON w.id = t.workflow_id
     WHERE t.trigger_subtype = $1 ORDER BY t.workflow_id, t.trigger_node_id`,
    [kind],
  );
  return r.rows.map(toTriggerRow);
}

export async function setTriggerEnabled(
  q: Queryable,
  workflowId: string,
  nodeId: string,
  enabled: boolean,
  now: string,
): Promise<TriggerRow | undefined> {
  await q.query(
    `UPDATE trigger_index SET enabled = $3, deployment_status = CASE WHEN $3 THEN 'active' ELSE 'inactive' END,
       updated_at = $4
     WHERE workflow_id = $1 AND trigger_node_id = $2`,
    [workflowId, nodeId, enabled, now],
  );
  const r = await q.query<Row>(
    `SELECT ${COLUMNS} FROM trigger_index t JOIN workflows w ON w.id = t.workflow_id
     WHERE t.workflow_id = $1 AND t.trigger_node_id = $2`,
    [workflowId, nodeId],
  );
  return r.rows[0] ? toTriggerRow(r.rows[0]) : undefined;
}

export async function countTriggersByKind(
  q: Queryable,
): Promise<Record<string, { active: number; total: number }>> {
  const r = await q.query<{ trigger_subtype: string; active: number; total: number }>(
    `SELECT trigger_subtype, count(*) FILTER (WHERE enabled AND deployment_status = 'active')::int AS active,
       count(*)::int AS total
     FROM trigger_index GROUP BY trigger_subtype`,
  );
  return Object.fromEntries(r.rows.map((x) => [x.trigger_subtype, { active: x.active, total: x.total }]));
}
