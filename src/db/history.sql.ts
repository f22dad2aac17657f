import { randomUUID } from 'node:crypto';
import { iso, json, type Queryable } from './db.js';

export interface HistoryEntry {
  id: string;
  workflowId: string;
  action: string;
  fromStatus: string | null;
  toStatus: string | null;
  version: number | null;
  triggeredBy: string | null;
  startedAt: string;
  completedAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  logs: unknown;
}

export async function addHistory(
  q: Queryable,
  h: {
    workflowId: string;
    action: string;
    fromStatus?: string | null;
    toStatus?: string | null;
    version?: number | null;
    config?: unknown;
    triggeredBy?: string | null;
    startedAt: string;
    completedAt?: string | null;
    errorCode?: string | null;
    errorMessage?: string | null;
    logs?: unknown;
  },
): Promise<string> {
  const id = randomUUID();
  await q.query(
    `INSERT INTO workflow_deployment_history (id, workflow_id, deployment_action, from_status, to_status,
       deployment_version, deployment_config, triggered_by, started_at, completed_at, error_code, error_message,
       deployment_logs)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13::jsonb)`,
    [
      id,
      h.workflowId,
      h.action,
      h.fromStatus ?? null,
      h.toStatus ?? null,
      h.version ?? null,
      h.config === undefined ? null : json(h.config),
      h.triggeredBy ?? null,
      h.startedAt,
      h.completedAt ?? null,
      h.errorCode ?? null,
      h.errorMessage ?? null,
      h.logs === undefined ? null : json(h.logs),
    ],
  );
  return id;
}

export async function listHistory(q: Queryable, workflowId: string, limit: number): Promise<HistoryEntry[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT id, workflow_id, deployment_action, from_status, to_status, deployment_version, triggered_by,
       started_at, completed_at, error_code, error_message, deployment_logs
     FROM workflow_deployment_history WHERE workflow_id = $1
     ORDER BY seq DESC LIMIT $2`,
    [workflowId, limit],
  );
  return r.rows.map((x) => ({
    id: String(x.id),
    workflowId: String(x.workflow_id),
    action: String(x.deployment_action),
    fromStatus: (x.from_status as string | null) ?? null,
    toStatus: (x.to_status as string | null) ?? null,
    version: (x.deployment_version as number | null) ?? null,
    triggeredBy: (x.triggered_by as string | null) ?? null,
    startedAt: iso(x.started_at) ?? '',
    completedAt: iso(x.completed_at),
    errorCode: (x.error_code as string | null) ?? null,
    errorMessage: (x.error_message as string | null) ?? null,
    logs: x.deployment_logs ?? null,
  }));
}
