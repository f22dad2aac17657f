import { toZonedIso } from './schedule.js';
import type { ClaimRow } from './store.js';

/** One tick to fire: everything needed to claim it, build its trigger_data and ingest it. */
export interface FireItem extends ClaimRow {
  triggerId: string;
  expression: string;
  timezone: string;
  jitter: number;
  overlapSkip: boolean;
}

/** A tick that will not run, with why (catch-up policy, window). */
export type MissedItem = Omit<ClaimRow, 'source'> & { reason: string };

/** The event's idempotency key: the trigger's (workflow, node) and the nominal instant, never the jittered one. */
export const idempotencyKey = (it: { workflowId: string; nodeId: string; nominal: number }) =>
  `CRON:${it.workflowId}:${it.nodeId}:${new Date(it.nominal).toISOString()}`;

/** trigger_data of a fire (contract.md §2.2, with the nominal time as scheduled_time, plus the design's extras). */
export function cronPayload(it: FireItem, firedAt: number): Record<string, unknown> {
  const scheduled = toZonedIso(it.nominal, it.timezone);
  const what =
    it.source === 'run_now' ? 'Run now' : it.source === 'catchup' ? 'Catch-up fire' : 'Scheduled fire';
  const fired = new Date(firedAt).toISOString();
  return {
    trigger_type: 'CRON',
    cron_expression: it.expression,
    timezone: it.timezone,
    scheduled_time: scheduled,
    scheduled_time_utc: new Date(it.nominal).toISOString(),
    effective_time: new Date(it.effective).toISOString(),
    fired_at: fired,
    trigger_time: fired,
    jitter_ms: it.jitter,
    catchup: it.source === 'catchup',
    run_now: it.source === 'run_now',
    trigger_message: `${what} of "${it.expression}" (${it.timezone}) for ${scheduled}`,
  };
}
