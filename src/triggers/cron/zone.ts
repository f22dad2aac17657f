import { ScheduleError } from './errors.js';

/**
 * Time zones for the cron layer: UTC offsets and their transitions, read from the ICU tz data through Intl
 * (the same data every other date API of the runtime uses), computed lazily per UTC year and kept.
 */

const SECOND = 1000;
const DAY = 86_400_000;
/** Years scanned ahead for the next offset transition; tz data repeats yearly once its explicit list ends. */
const SCAN_YEARS = 3;

export interface Transition {
  /** The instant the offset changes (epoch ms). */
  at: number;
  /** UTC offsets (ms) before and after; after > before is a gap (spring forward), after < before an overlap. */
  before: number;
  after: number;
}

interface Chunk {
  startOffset: number;
  /** Transitions with `at` in (start of the UTC year, start of the next], ascending. */
  transitions: Transition[];
}

export interface Segment {
  start: number;
  end: number;
  offset: number;
  /** The transition at `start`, or at `end` (undefined: the zone's scan horizon, no change known). */
  startTransition: Transition | undefined;
  endTransition: Transition | undefined;
}

/** Offsets and transitions of one IANA zone, computed lazily per UTC year from Intl and kept. */
export class Zone {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly chunks = new Map<number, Chunk>();
  private hot: Segment | undefined;

  constructor(readonly name: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  }

  /** UTC offset (ms) in effect at instant t, straight from ICU. */
  private rawOffset(t: number): number {
    const m = /GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?/.exec(this.fmt.format(t));
    if (!m?.[1]) return 0;
    const v = (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) * SECOND;
    return m[1] === '-' ? -v : v;
  }

  private chunk(year: number): Chunk {
    let c = this.chunks.get(year);
    if (c) return c;
    // Far-reaching previews may touch centuries; keep the table bounded (recomputed on demand).
    if (this.chunks.size >= 256) this.chunks.clear();
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const transitions: Transition[] = [];
    // Daily samples, then bisection to the second: no zone changes its offset twice within one day.
    let prevT = start;
    let prevO = this.rawOffset(start);
    const startOffset = prevO;
    for (let t = start + DAY; prevT < end; t = Math.min(t + DAY, end)) {
      const o = this.rawOffset(t);
      if (o !== prevO) {
        let lo = prevT;
        let hi = t;
        while (hi - lo > SECOND) {
          const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
          if (this.rawOffset(mid) === prevO) lo = mid;
          else hi = mid;
        }
        transitions.push({ at: hi, before: prevO, after: this.rawOffset(hi) });
      }
      prevT = t;
      prevO = o;
    }
    c = { startOffset, transitions };
    this.chunks.set(year, c);
    return c;
  }

  /** Transitions with `at` in (fromMs, toMs], ascending. */
  transitionsIn(fromMs: number, toMs: number): Transition[] {
    const out: Transition[] = [];
    const last = new Date(toMs).getUTCFullYear();
    for (let y = new Date(fromMs).getUTCFullYear() - 1; y <= last; y++)
      for (const tr of this.chunk(y).transitions) if (tr.at > fromMs && tr.at <= toMs) out.push(tr);
    return out;
  }

  offsetAt(t: number): number {
    return this.segmentAt(t).offset;
  }

  /** The stretch of constant offset holding instant t. */
  segmentAt(t: number): Segment {
    const h = this.hot;
    if (h && t >= h.start && t < h.end) return h;
    const year = new Date(t).getUTCFullYear();
    let prev: Transition | undefined;
    let next: Transition | undefined;
    for (const tr of this.chunk(year - 1).transitions) if (tr.at <= t) prev = tr;
    for (const tr of this.chunk(year).transitions) {
      if (tr.at <= t) prev = tr;
      else if (!next) next = tr;
    }
    for (let y = year + 1; !next && y <= year + SCAN_YEARS; y++) next = this.chunk(y).transitions[0];
    const seg: Segment = {
      start: prev ? prev.at : Date.UTC(year - 1, 0, 1),
      end: next ? next.at : Date.UTC(year + SCAN_YEARS + 1, 0, 1),
      offset: prev ? prev.after : this.chunk(year - 1).startOffset,
      startTransition: prev,
      endTransition: next,
    };
    this.hot = seg;
    return seg;
  }
}

const zones = new Map<string, Zone>();

/** The zone name to store: Intl's spelling when it differs only in case, else the name as given. */
export function canonicalTimeZone(tz: string): string {
  if (typeof tz !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(tz))
    throw new ScheduleError(
      'SCHED_INVALID_TIMEZONE',
      'timezone',
      `${JSON.stringify(tz)} is not an IANA time zone`,
    );
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleError(
      'SCHED_INVALID_TIMEZONE',
      'timezone',
      `${JSON.stringify(tz)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
  return resolved.toLowerCase() === tz.toLowerCase() ? resolved : tz;
}

export function zoneOf(tz: string): Zone {
  let z = zones.get(tz);
  if (!z) {
    const name = canonicalTimeZone(tz);
    z = zones.get(name) ?? new Zone(name);
    zones.set(name, z);
    // Other spellings (case) are remembered too, but not without bound.
    if (zones.size < 2048) zones.set(tz, z);
  }
  return z;
}

/** UTC offset (ms) of the zone at an instant. */
export function zoneOffsetMs(tz: string, ms: number): number {
  return zoneOf(tz).offsetAt(ms);
}

/** Offset transitions of the zone with `at` in (fromMs, toMs]. */
export function zoneTransitions(tz: string, fromMs: number, toMs: number): Transition[] {
  return zoneOf(tz).transitionsIn(fromMs, toMs);
}

/** ISO 8601 local time with its offset, e.g. 2027-03-14T03:00:00-04:00 (milliseconds only when not 0). */
export function toZonedIso(ms: number, tz: string): string {
  const off = zoneOffsetMs(tz, ms);
  const wall = new Date(ms + off)
    .toISOString()
    .slice(0, 23)
    .replace(/\.000$/, '');
  return `${wall}${formatOffset(off)}`;
}

export function formatOffset(offMs: number): string {
  const a = Math.abs(offMs) / SECOND;
  const two = (n: number) => String(Math.floor(n)).padStart(2, '0');
  const s = a % 60;
  return `${offMs < 0 ? '-' : '+'}${two(a / 3600)}:${two((a / 60) % 60)}${s ? `:${two(s)}` : ''}`;
}

/** Drops the zone tables (tests and benchmarks measure cold paths with it). */
export function clearZones(): void {
  zones.clear();
}
