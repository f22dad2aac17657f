import { z } from 'zod';
import { type ConfigContext, parseWith } from '../types.js';
import { DEFAULT_DST_POLICY, type DstPolicy } from './schedule.js';

/** Normalised CRON configuration as stored in trigger_index.trigger_config. */
export interface CronConfig {
  cron_expression: string;
  timezone: string;
  jitter_seconds: number;
  catchup_window_seconds: number;
  catchup_policy: 'skip' | 'latest' | 'all';
  overlap_policy: 'allow' | 'skip';
  dst_policy: DstPolicy;
}

const schema = z.object({
  cron_expression: z.string().min(1),
  timezone: z.string().optional(),
  jitter_seconds: z.number().int().min(0).max(3600).default(30),
  catchup_window_seconds: z.number().int().min(0).max(366 * 86400).default(3600),
  catchup_policy: z.enum(['skip', 'latest', 'all']).default('latest'),
  overlap_policy: z.enum(['allow', 'skip']).default('allow'),
});

/** First version; the cron semantics work completes validation (expression, zone, DST policy, max_missed_runs). */
export function parseCronConfig(raw: Record<string, unknown>, ctx: ConfigContext): CronConfig {
  const c = parseWith(schema, raw);
  return {
    cron_expression: c.cron_expression.trim(),
    timezone: c.timezone ?? ctx.defaultTimezone,
    jitter_seconds: c.jitter_seconds,
    catchup_window_seconds: c.catchup_window_seconds,
    catchup_policy: c.catchup_policy,
    overlap_policy: c.overlap_policy,
    dst_policy: DEFAULT_DST_POLICY,
  };
}
