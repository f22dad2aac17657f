import { ScheduleError } from './errors.js';
import { Lru, patternFor, patternStats, patterns, wallNext } from './pattern.js';
import { clearZones, type Zone, zoneOf } from './zone.js';

export { ScheduleError } from './errors.js';
export {
  canonicalTimeZone,
  formatOffset,
  type Transition,
  toZonedIso,
  zoneOf,
  zoneOffsetMs,
  zoneTransitions,
} from './zone.js';

/**
 * CONTRACT between the cron time semantics (this file, config.ts, jitter.ts, catchup.ts) and the scheduler
 * runtime, which only calls what is exported here.
 *
 * How it works: croner (pinned, `utcOffset: 0`) does all calendar matching in *wall-clock* space, where a
 * local time such as 2027-03-14 02:30 is encoded as if it were UTC; it never sees a time zone. Our own
 * layer maps wall times to instants with the zone's offset transitions (from the ICU tz data via Intl) and
 * applies the DST rule of protocols.md §6.2: fixed-time entries get cronie semantics, adjustable by
 * DstPolicy; interval entries (a `*`, `?` or `/` in the second, minute or hour field) run on real time,
 * i.e. skip local times that do not exist and fire at both occurrences of a repeated one.
 */

/** What happens to fixed-time fires inside a DST gap (skipped hour) and overlap (repeated hour). */
export interface DstPolicy {
  /** 'shift' (default, as cronie): a time in the gap fires once, right after the jump. 'skip': it does not fire. */
  gap: 'shift' | 'skip';
  /** 'first' (default, as cronie): a time in the repeated hour fires once, at its first occurrence. 'both': twice. */
  overlap: 'first' | 'both';
}

export const DEFAULT_DST_POLICY: DstPolicy = Object.freeze({ gap: 'shift', overlap: 'first' });

export interface CompiledSchedule {
  readonly expression: string;
  readonly timezone: string;
  readonly dst: DstPolicy;
  /** true when cronie's fixed-time DST handling (and so `dst`) applies; false for interval entries. */
  readonly fixedTime: boolean;
  /** The first nominal fire instant (epoch ms) strictly after afterMs, or null when there is none. */
  nextAfter(afterMs: number): number | null;
  /** Nominal fire instants in (fromMs, toMs], ascending, at most limit. */
  between(fromMs: number, toMs: number, limit: number): number[];
}

/** Offset segments one nextAfter may cross (two a year in DST zones); croner itself gives up after 400 years. */
const MAX_SEGMENTS = 1000;

// Schedules are light (~200 B); sharing them by (policy, zone, expression) shares their memo too.
const schedules = new Lru<Schedule>(50_000);
const stats = { scheduleCompiles: 0 };

const POLICIES: Record<string, DstPolicy> = {};
for (const gap of ['shift', 'skip'] as const)
  for (const overlap of ['first', 'both'] as const)
    POLICIES[`${gap}/${overlap}`] = Object.freeze({ gap, overlap });

/** The shared frozen policy object for these values; throws on anything else. */
export function dstPolicyOf(p: { gap?: unknown; overlap?: unknown }): DstPolicy {
  const found =
    POLICIES[`${String(p.gap ?? DEFAULT_DST_POLICY.gap)}/${String(p.overlap ?? DEFAULT_DST_POLICY.overlap)}`];
  if (!found)
    throw new ScheduleError(
      'SCHED_INVALID_DST_POLICY',
      'dst_policy',
      'gap must be "shift" or "skip" and overlap "first" or "both"',
    );
  return found;
}

/** Instants past this are out of croner's range (it stops at year 3000 for wildcard years). */
const LAST_INSTANT = Date.UTC(3000, 0, 1);

class Schedule implements CompiledSchedule {
  private memoAfter = Number.POSITIVE_INFINITY;
  private memoNext: number | null = null;

  constructor(
    readonly expression: string,
    private readonly zone: Zone,
    readonly dst: DstPolicy,
    readonly fixedTime: boolean,
  ) {}

  get timezone(): string {
    return this.zone.name;
  }

  nextAfter(afterMs: number): number | null {
    if (!(Math.abs(afterMs) <= 8.64e15))
      throw new TypeError(`afterMs must be a valid instant, got ${afterMs}`);
    // Stable by definition: every t in [after, next) has the same next fire.
    if (afterMs >= this.memoAfter && (this.memoNext === null || afterMs < this.memoNext))
      return this.memoNext;
    const next = afterMs >= LAST_INSTANT ? null : this.compute(afterMs);
    this.memoAfter = afterMs;
    this.memoNext = next;
    return next;
  }

  between(fromMs: number, toMs: number, limit: number): number[] {
    const out: number[] = [];
    let t = fromMs;
    while (out.length < limit) {
      const n = this.nextAfter(t);
      if (n === null || n > toMs) break;
      out.push(n);
      t = n;
    }
    return out;
  }

  /**
   * Walks the zone's constant-offset segments from afterMs. In each, the first wall match maps to one
   * instant; a wall beyond the segment's end either lies in the gap that follows (shifted to the jump for
   * fixed-time entries under 'shift') or is looked for again in the next segment. Under 'first', walls of
   * a repeated hour are not fired a second time.
   */
  private compute(a: number): number | null {
    const p = patternFor(this.expression);
    const firstOnly = p.fixedTime && this.dst.overlap === 'first';
    const shiftGap = p.fixedTime && this.dst.gap === 'shift';
    let seg = this.zone.segmentAt(a);
    let x = a;
    for (let i = 0; i < MAX_SEGMENTS; i++) {
      const tr = seg.startTransition;
      const repeatedEnd =
        firstOnly && tr && tr.at === seg.start && tr.after < tr.before
          ? tr.at + tr.before
          : Number.NEGATIVE_INFINITY;
      const w = wallNext(p, Math.max(x + seg.offset, repeatedEnd - 1));
      if (w === null) return null;
      if (w - seg.offset < seg.end) return w - seg.offset;
      const t = seg.endTransition;
      if (t && shiftGap && t.after > t.before && w < t.at + t.after) return t.at;
      x = seg.end - 1;
      seg = this.zone.segmentAt(seg.end);
    }
    return null;
  }
}

/**
 * The schedule of (expression, IANA zone, DST policy); shared while cached, cheap to call repeatedly.
 * Throws ScheduleError for an invalid expression, zone or policy, or an expression that never matches.
 */
export function compileSchedule(
  expression: string,
  timezone: string,
  dst: DstPolicy = DEFAULT_DST_POLICY,
): CompiledSchedule {
  const policy = dstPolicyOf(dst);
  const expr = typeof expression === 'string' ? expression.trim() : '';
  const key = `${policy.gap}/${policy.overlap}|${timezone}|${expr}`;
  const cached = schedules.get(key);
  if (cached) return cached;
  const zone = zoneOf(timezone);
  const s = new Schedule(expr, zone, policy, patternFor(expr).fixedTime);
  stats.scheduleCompiles++;
  schedules.set(key, s);
  return s;
}

/** Wall-clock matches (local time encoded as UTC ms) in [fromWall, toWall), at most limit: for DST notes. */
export function wallTimesBetween(
  expression: string,
  fromWall: number,
  toWall: number,
  limit: number,
): number[] {
  const p = patternFor(expression.trim());
  const out: number[] = [];
  let w = wallNext(p, fromWall - 1);
  while (w !== null && w < toWall && out.length < limit) {
    out.push(w);
    w = wallNext(p, w);
  }
  return out;
}

export function cronCacheStats(): {
  patterns: number;
  patternLimit: number;
  schedules: number;
  scheduleLimit: number;
  patternParses: number;
  scheduleCompiles: number;
} {
  return {
    patterns: patterns.size,
    patternLimit: patterns.max,
    schedules: schedules.size,
    scheduleLimit: schedules.max,
    patternParses: patternStats.patternParses,
    scheduleCompiles: stats.scheduleCompiles,
  };
}

/** Cache bounds (entries). Parsed patterns dominate memory: ~2.8 KB each. */
export function setCronCacheLimits(limits: { patterns?: number; schedules?: number }): void {
  if (limits.patterns !== undefined) patterns.max = Math.max(1, Math.floor(limits.patterns));
  if (limits.schedules !== undefined) schedules.max = Math.max(1, Math.floor(limits.schedules));
}

/** Drops every cached pattern, schedule and zone table (tests and benchmarks measure cold paths with it). */
export function clearCronCaches(): void {
  patterns.clear();
  schedules.clear();
  clearZones();
}
