import { randomUUID } from 'node:crypto';
import { iso, type Queryable } from './db.js';

/** One pause or resume of a trigger through the API (trigger_pause_log). */
export interface PauseEntry {
  action: 'pause' | 'resume';
  note: string | null;
  actor: string | null;
  at: string;
}

export async function insertPauseEntry(
  q: Queryable,
  e: {
    workflowId: string;
    nodeId: string;
    action: PauseEntry['action'];
    note: string | null;
    actor: string;
    at: string;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO trigger_pause_log (id, workflow_id, node_id, action, note, actor, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [randomUUID(), e.workflowId, e.nodeId, e.action, e.note, e.actor, e.at],
  );
}

export async function lastPauseEntry(
  q: Queryable,
  workflowId: string,
  nodeId: string,
): Promise<PauseEntry | null> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT action, note, actor, at FROM trigger_pause_log WHERE workflow_id = $1 AND node_id = $2
     ORDER BY at DESC LIMIT 1`,
    [workflowId, nodeId],
  );
  const x = r.rows[0];
  return x
    ? {
        action: x.action as PauseEntry['action'],
        note: (x.note as string | null) ?? null,
        actor: (x.actor as string | null) ?? null,
        at: iso(x.at) ?? '',
      }
    : null;
}
