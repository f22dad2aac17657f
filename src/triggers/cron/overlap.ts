import type { Services } from '../../services.js';
import { lastDispatchOf } from './queries.js';

/** Engine statuses of an execution that has not finished (contract.md §4.2). */
const UNFINISHED = new Set(['NEW', 'PENDING', 'QUEUED', 'RUNNING', 'PAUSED', 'WAITING', 'WAITING_FOR_HUMAN']);

export interface OverlapVerdict {
  skip: boolean;
  reason: string;
}

/**
 * overlap_policy "skip": is the previous run of this trigger still going? The previous run is found
 * through the trigger's newest dispatch: still undelivered counts as running (so an engine outage does
 * not pile runs up); delivered, the engine is asked about its execution. When the engine cannot say, the
 * tick fires: a skipped run is a lost run, an overlapping one is only what "allow" would have done.
 */
export async function checkOverlap(s: Services, workflowId: string, nodeId: string): Promise<OverlapVerdict> {
  const prev = await lastDispatchOf(s.db, workflowId, nodeId);
  if (!prev) return { skip: false, reason: '' };
  if (prev.status === 'pending' || prev.status === 'in_flight') {
    return {
      skip: true,
      reason: `overlap: the previous fire (dispatch ${prev.id}) has not reached the engine yet`,
    };
  }
  if (prev.status !== 'succeeded' || !prev.executionId) return { skip: false, reason: '' };
  try {
    const e = await s.engine.getExecution(prev.executionId);
    if (e && UNFINISHED.has(e.status.toUpperCase()))
      return { skip: true, reason: `overlap: the previous execution ${prev.executionId} is ${e.status}` };
  } catch (err) {
    s.logger.warn({ err, workflow_id: workflowId, node_id: nodeId }, 'cron: overlap check failed; firing');
  }
  return { skip: false, reason: '' };
}
