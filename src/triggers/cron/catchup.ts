import type { CompiledSchedule } from './schedule.js';

/**
 * Misfire handling (protocols.md §6.3): which nominal times missed while no replica ran (or the process
 * stalled) are fired late, and why each of the others is not. Pure; cost is bounded whatever the outage:
 * at most `detailLimit` rows per reason are listed one by one, the rest as one summary row whose count
 * stops at `countLimit`, and the newest fires are found by bisection, not by enumerating the window.
 */

export type CatchupPolicy = 'skip' | 'latest' | 'all';

export const CATCHUP_REASONS = {
  /** Older than catchup_window_seconds before now. */
  outsideWindow: 'outside_catchup_window',
  /** catchup_policy is skip. */
  policySkip: 'catchup_policy_skip',
  /** catchup_policy is latest and a newer missed time was fired instead. */
  superseded: 'superseded_by_latest',
  /** catchup_policy is all and max_missed_runs newer missed times were fired instead. */
  limit: 'catchup_limit',
} as const;

export interface MissedFire {
  nominalMs: number;
  reason: string;
  /** Only on a summary row: the number of missed times it stands for, from nominalMs to lastNominalMs. */
  count?: number;
  lastNominalMs?: number;
  /** Only on a summary row: true when counting stopped at countLimit (there are at least `count`). */
  countIsLowerBound?: boolean;
}

export interface CatchupOptions {
  /** The last nominal time fired (or the deploy time of a trigger that never fired). */
  lastNominalMs: number;
  nowMs: number;
  windowSeconds: number;
  policy: CatchupPolicy;
  /** Bound of 'all' (max_missed_runs); the newest are kept. */
  maxRuns: number;
  /** Rows listed one by one per reason before a summary row (default 10). */
  detailLimit?: number;
  /** Missed times counted exactly per summary row (default 1000). */
  countLimit?: number;
}

export interface CatchupPlan {
  /** Nominal times to fire now (marked catchup), ascending. */
  fire: number[];
  /** Every missed time not fired, with its reason, ascending per reason. */
  missed: MissedFire[];
}

export function planCatchup(schedule: CompiledSchedule, opts: CatchupOptions): CatchupPlan {
  const { lastNominalMs: last, nowMs: now } = opts;
  const plan: CatchupPlan = { fire: [], missed: [] };
  if (!(now > last)) return plan;
  const detailLimit = Math.max(0, Math.floor(opts.detailLimit ?? 10));
  const countLimit = Math.max(1, Math.floor(opts.countLimit ?? 1000));
  // Missed times are in (last, now]; those at or after windowStart are within the window.
  const windowStart = now - Math.max(0, opts.windowSeconds) * 1000;
  const inFloor = Math.max(last, windowStart - 1);
  const list = (fromExcl: number, toIncl: number, reason: string) =>
    listRange(schedule, fromExcl, toIncl, reason, detailLimit, countLimit, plan.missed);

  if (inFloor > last) list(last, inFloor, CATCHUP_REASONS.outsideWindow);
  if (opts.policy === 'skip') {
    list(inFloor, now, CATCHUP_REASONS.policySkip);
    return plan;
  }
  const n = opts.policy === 'latest' ? 1 : Math.max(0, Math.floor(opts.maxRuns));
  plan.fire = newestFires(schedule, inFloor, now, n);
  const first = plan.fire[0];
  if (first !== undefined)
    list(inFloor, first - 1, opts.policy === 'latest' ? CATCHUP_REASONS.superseded : CATCHUP_REASONS.limit);
  else if (n === 0) list(inFloor, now, CATCHUP_REASONS.limit);
  return plan;
}

/** The newest n fire times in (floorExcl, toIncl], ascending. */
export function newestFires(s: CompiledSchedule, floorExcl: number, toIncl: number, n: number): number[] {
  const out: number[] = [];
  let hi = toIncl;
  while (out.length < n) {
    const f = newestAtOrBefore(s, floorExcl, hi);
    if (f === null) break;
    out.push(f);
    hi = f - 1;
  }
  return out.reverse();
}

/**
 * The newest fire time in (floorExcl, toIncl], or null. Gallops back from toIncl with doubling windows
 * (a dense schedule finds one in the first), then bisects inside the window; nextAfter is monotone.
 */
export function newestAtOrBefore(s: CompiledSchedule, floorExcl: number, toIncl: number): number | null {
  let lo: number | null = null;
  for (let w = 1000; lo === null; w *= 2) {
    const from = Math.max(floorExcl, toIncl - w);
    const f = s.nextAfter(from);
    if (f !== null && f <= toIncl) lo = f;
    else if (from === floorExcl) return null;
  }
  let hi = toIncl; // invariant: lo is a fire ≤ hi, and no fire lies in (hi, toIncl]
  for (let i = 0; i < 200; i++) {
    const next = s.nextAfter(lo);
    if (next === null || next > hi) return lo;
    lo = next;
    const mid = lo + Math.floor((hi - lo) / 2);
    if (mid <= lo) continue;
    const m = s.nextAfter(mid);
    if (m !== null && m <= hi) lo = m;
    else hi = mid;
  }
  return lo;
}

function listRange(
  s: CompiledSchedule,
  fromExcl: number,
  toIncl: number,
  reason: string,
  detailLimit: number,
  countLimit: number,
  out: MissedFire[],
): void {
  if (toIncl <= fromExcl) return;
  const head = s.between(fromExcl, toIncl, detailLimit + 1);
  for (const nominalMs of head.slice(0, detailLimit)) out.push({ nominalMs, reason });
  const rest = head[detailLimit];
  if (rest === undefined) return;
  const counted = s.between(rest - 1, toIncl, countLimit);
  const lastCounted = counted[counted.length - 1] ?? rest;
  const after = counted.length === countLimit ? s.nextAfter(lastCounted) : null;
  const lowerBound = after !== null && after <= toIncl;
  out.push({
    nominalMs: rest,
    reason,
    count: counted.length,
    lastNominalMs: lowerBound ? (newestAtOrBefore(s, lastCounted, toIncl) ?? lastCounted) : lastCounted,
    ...(lowerBound ? { countIsLowerBound: true } : {}),
  });
}
