import { type ConfigContext, ConfigFieldError } from '../types.js';
import type { CronErrorCode } from './errors.js';
import {
  canonicalTimeZone,
  compileSchedule,
  type DstPolicy,
  dstPolicyOf,
  ScheduleError,
} from './schedule.js';

/** Normalised CRON configuration as stored in trigger_index.trigger_config. */
export interface CronConfig {
  cron_expression: string;
  /** IANA zone the expression is read in. */
  timezone: string;
  /** Upper bound of the deterministic delay after the nominal time; 0 disables jitter. */
  jitter_seconds: number;
  /** Missed fires older than this (relative to the restart) are not caught up. */
  catchup_window_seconds: number;
  catchup_policy: 'skip' | 'latest' | 'all';
  overlap_policy: 'allow' | 'skip';
  dst_policy: DstPolicy;
  /** Bound of the 'all' catch-up policy (contract.md §2: default 3, 1–10). */
  max_missed_runs: number;
}

export const CRON_LIMITS = {
  jitterSeconds: { min: 0, max: 3600, default: 30 },
  catchupWindowSeconds: { min: 0, max: 366 * 86_400, default: 3600 },
  maxMissedRuns: { min: 1, max: 10, default: 3 },
} as const;

/** Named policies: cronie's (the default) and Temporal's literal wall-clock behaviour. */
export const DST_POLICY_NAMES: Record<string, DstPolicy> = {
  cronie: dstPolicyOf({ gap: 'shift', overlap: 'first' }),
  temporal: dstPolicyOf({ gap: 'skip', overlap: 'both' }),
};

// protocols.md §6.3 calls the policies skip | fire_once | fire_all.
const CATCHUP_ALIASES: Record<string, CronConfig['catchup_policy']> = {
  skip: 'skip',
  latest: 'latest',
  fire_once: 'latest',
  all: 'all',
  fire_all: 'all',
};

function fail(field: string, message: string, code: CronErrorCode = 'SCHED_INVALID_CRON_OPTION'): never {
  throw new ConfigFieldError(field, message, code);
}

function intField(
  raw: Record<string, unknown>,
  field: string,
  lim: { min: number; max: number; default: number },
) {
  const v = raw[field];
  if (v === undefined || v === null) return lim.default;
  const n = typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lim.min || n > lim.max)
    fail(field, `must be a whole number from ${lim.min} to ${lim.max}, got ${JSON.stringify(v)}`);
  return n;
}

function enumField<T extends string>(
  raw: Record<string, unknown>,
  field: string,
  values: Record<string, T>,
  def: T,
) {
  const v = raw[field];
  if (v === undefined || v === null) return def;
  const found = typeof v === 'string' ? values[v.trim().toLowerCase()] : undefined;
  if (!found) fail(field, `must be one of ${Object.keys(values).join(', ')}, got ${JSON.stringify(v)}`);
  return found;
}

/** `dst_policy`: a name ("cronie", "temporal") or an object `{ gap: shift|skip, overlap: first|both }`. */
export function parseDstPolicy(v: unknown, field = 'dst_policy'): DstPolicy {
  if (v === undefined || v === null) return DST_POLICY_NAMES.cronie!;
  if (typeof v === 'string') {
    const named = DST_POLICY_NAMES[v.trim().toLowerCase()];
    if (named) return named;
    fail(
      field,
      `must be "cronie", "temporal" or { "gap": "shift"|"skip", "overlap": "first"|"both" }`,
      'SCHED_INVALID_DST_POLICY',
    );
  }
  if (typeof v !== 'object' || Array.isArray(v))
    fail(field, 'must be a policy name or an object { gap, overlap }', 'SCHED_INVALID_DST_POLICY');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'gap' && k !== 'overlap')
      fail(`${field}.${k}`, 'unknown key; use gap and overlap', 'SCHED_INVALID_DST_POLICY');
  if (o.gap !== undefined && o.gap !== 'shift' && o.gap !== 'skip')
    fail(
      `${field}.gap`,
      `must be "shift" or "skip", got ${JSON.stringify(o.gap)}`,
      'SCHED_INVALID_DST_POLICY',
    );
  if (o.overlap !== undefined && o.overlap !== 'first' && o.overlap !== 'both')
    fail(
      `${field}.overlap`,
      `must be "first" or "both", got ${JSON.stringify(o.overlap)}`,
      'SCHED_INVALID_DST_POLICY',
    );
  return dstPolicyOf(o);
}

/** Validates and normalises a CRON node's configuration; throws ConfigFieldError with a CRON_ERRORS code. */
export function parseCronConfig(raw: Record<string, unknown>, ctx: ConfigContext): CronConfig {
  const expr = raw.cron_expression;
  if (typeof expr !== 'string' || expr.trim() === '')
    fail('cron_expression', 'is required, e.g. "0 9 * * 1-5"', 'SCHED_INVALID_CRON');
  const tzRaw = raw.timezone;
  if (tzRaw !== undefined && tzRaw !== null && typeof tzRaw !== 'string')
    fail('timezone', 'must be an IANA time zone name', 'SCHED_INVALID_TIMEZONE');
  const dst = parseDstPolicy(raw.dst_policy);
  let timezone: string;
  try {
    timezone = canonicalTimeZone(
      typeof tzRaw === 'string' && tzRaw.trim() !== '' ? tzRaw.trim() : ctx.defaultTimezone,
    );
    // Compiling proves the expression parses and matches some date, in this zone and policy.
    compileSchedule(expr, timezone, dst);
  } catch (err) {
    if (err instanceof ScheduleError)
      fail(err.field === 'expression' ? 'cron_expression' : err.field, err.message, err.code);
    throw err;
  }
  return {
    cron_expression: expr.trim(),
    timezone,
    jitter_seconds: intField(raw, 'jitter_seconds', CRON_LIMITS.jitterSeconds),
    catchup_window_seconds: intField(raw, 'catchup_window_seconds', CRON_LIMITS.catchupWindowSeconds),
    catchup_policy: enumField(raw, 'catchup_policy', CATCHUP_ALIASES, 'latest'),
    overlap_policy: enumField(raw, 'overlap_policy', { allow: 'allow', skip: 'skip' } as const, 'allow'),
    dst_policy: dst,
    max_missed_runs: intField(raw, 'max_missed_runs', CRON_LIMITS.maxMissedRuns),
  };
}
