import { defineKind } from '../types.js';
import { type CronConfig, parseCronConfig } from './config.js';
import { CRON_ERRORS } from './errors.js';
import { registerCronPreviewRoute } from './preview.js';
import { registerCronRoutes } from './routes.js';
import { CronRuntime } from './runtime.js';
import { CRON_RUNTIME_ERRORS } from './runtimeErrors.js';
import { describeCronTrigger, scheduleViewSchema } from './view.js';

/**
 * CRON: time-based fires. The process's one scheduler loop (runtime.ts) turns each due tick into an event
 * aimed at its trigger, with idempotency key CRON:<workflow>:<node>:<nominal ISO>, so a tick is just
 * another event in the pipeline. The index key is the expression (contract.md §2.1); it only matters to
 * listings, since fires never look triggers up by it.
 */
export const cronKind = defineKind<CronConfig>({
  id: 'CRON',
  description:
    'Time schedule: cron expression (5 or 6 fields, macros) in an IANA zone, DST policy, deterministic jitter, ' +
    'catch-up and overlap policies; exactly one fire per tick across replicas',
  // A tick is never someone's answer to a paused execution.
  resumeModes: ['never'],
  errors: { ...CRON_ERRORS, ...CRON_RUNTIME_ERRORS },
  parseConfig: parseCronConfig,
  indexKey: (config) => config.cron_expression,
  // Fires are aimed at one trigger (triggerIds); anything else under the same expression is not ours.
  match: (_config, event, trigger) =>
    event.idempotencyKey.startsWith(`CRON:${trigger.workflowId}:${trigger.nodeId}:`)
      ? { matched: true }
      : { matched: false, reason: 'a cron fire belongs to the trigger that scheduled it' },
  registerRoutes(app, services) {
    registerCronPreviewRoute(app, services);
    registerCronRoutes(app, services);
  },
  createRuntime: (services) => new CronRuntime(services),
  describe: describeCronTrigger,
  describeSchema: { properties: { schedule: scheduleViewSchema } },
});
