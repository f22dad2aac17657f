import type { Services } from '../../services.js';
import type { TriggerRow } from '../types.js';
import type { CronConfig } from './config.js';
import { describeCron } from './describe.js';
import { countFires, listFires } from './queries.js';
import { cronRuntimeOf } from './runtime.js';
import { compileSchedule, toZonedIso } from './schedule.js';
import { ScheduleTable } from './slots.js';

const nullableString = { type: ['string', 'null'] } as const;

export const fireViewSchema = {
  type: 'object',
  properties: {
    nominal_time: { type: 'string', description: 'The tick (identity of the fire), UTC' },
    effective_time: {
      type: 'string',
      description: 'Nominal plus jitter; for a catch-up, when it was decided',
    },
    source: { type: 'string', enum: ['schedule', 'catchup', 'run_now'] },
    outcome: {
      type: 'string',
      enum: ['claimed', 'fired', 'missed', 'skipped', 'dropped'],
      description:
        'claimed: being stored; fired: event stored; missed: not run (reason: catch-up policy, window); ' +
        'skipped: overlap policy; dropped: the trigger was paused or removed meanwhile',
    },
    reason: { ...nullableString, description: 'Why it did not fire' },
    claimed_at: { ...nullableString, description: 'When the fire was claimed or recorded' },
    fired_at: {
      ...nullableString,
      description: 'When it fired: its event stored, or for a tick written ahead of its instant, the instant',
    },
    event_id: nullableString,
    dispatch: {
      type: ['object', 'null'],
      properties: {
        id: { type: 'string' },
        status: { type: 'string' },
        dispatched_at: { ...nullableString, description: 'When the engine accepted the run' },
        execution_id: nullableString,
        last_error_code: nullableString,
      },
    },
  },
  required: ['nominal_time', 'effective_time', 'source', 'outcome'],
} as const;

export const countersSchema = {
  type: 'object',
  description: 'Fire records kept (CRON_FIRE_RETENTION_DAYS), by outcome',
  properties: Object.fromEntries(
    ['fired', 'missed', 'skipped', 'dropped', 'claimed', 'catchup_fired', 'run_now'].map((k) => [
      k,
      { type: 'integer' },
    ]),
  ),
} as const;

export const scheduleViewSchema = {
  type: 'object',
  description: 'CRON triggers: the schedule, its next and last fires and counters',
  properties: {
    expression: { type: 'string' },
    timezone: { type: 'string' },
    description: nullableString,
    error: { ...nullableString, description: 'Why the schedule cannot be computed' },
    jitter_seconds: { type: 'integer' },
    catchup_policy: { type: 'string' },
    catchup_window_seconds: { type: 'integer' },
    max_missed_runs: { type: 'integer' },
    overlap_policy: { type: 'string' },
    dst_policy: { type: 'object', properties: { gap: { type: 'string' }, overlap: { type: 'string' } } },
    in_loop: {
      type: ['boolean', 'null'],
      description: "Whether this replica's scheduler loop holds the trigger (null: no loop in this process)",
    },
    next_fires: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          nominal_time: { type: 'string' },
          local_time: { type: 'string' },
          effective_time: { type: 'string' },
          jitter_ms: { type: 'integer' },
        },
      },
    },
    last_fires: { type: 'array', items: fireViewSchema },
    counters: countersSchema,
  },
} as const;

/** The CRON part of GET …/triggers/{node_id}. */
export async function describeCronTrigger(
  trigger: TriggerRow<CronConfig>,
  s: Services,
  opts: { limit: number },
): Promise<Record<string, unknown>> {
  const c = trigger.config;
  const now = s.clock.now();
  const next: Record<string, unknown>[] = [];
  let description: string | null = null;
  let error: string | null = null;
  try {
    description = describeCron(c.cron_expression);
    const schedule = compileSchedule(c.cron_expression, c.timezone, c.dst_policy);
    // The same jitter as the loop: a one-slot table computes it with the loop's code.
    const table = new ScheduleTable(1);
    const slot = table.add(trigger.id, trigger.workflowId, trigger.nodeId, c);
    let n = schedule.nextAfter(now);
    while (n !== null && next.length < opts.limit) {
      const following = schedule.nextAfter(n);
      const eff = table.effective(slot, n, following ?? Number.POSITIVE_INFINITY);
      next.push({
        nominal_time: new Date(n).toISOString(),
        local_time: toZonedIso(n, c.timezone),
        effective_time: new Date(eff).toISOString(),
        jitter_ms: eff - n,
      });
      n = following;
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const [last, counters] = await Promise.all([
    listFires(s.db, trigger.workflowId, trigger.nodeId, { limit: opts.limit }),
    countFires(s.db, trigger.workflowId, trigger.nodeId),
  ]);
  const rt = cronRuntimeOf(s);
  return {
    schedule: {
      expression: c.cron_expression,
      timezone: c.timezone,
      description,
      error,
      jitter_seconds: c.jitter_seconds,
      catchup_policy: c.catchup_policy,
      catchup_window_seconds: c.catchup_window_seconds,
      max_missed_runs: c.max_missed_runs,
      overlap_policy: c.overlap_policy,
      dst_policy: c.dst_policy,
      in_loop: rt ? rt.scheduled(trigger.workflowId, trigger.nodeId) !== null : null,
      next_fires: next,
      last_fires: last,
      counters,
    },
  };
}
