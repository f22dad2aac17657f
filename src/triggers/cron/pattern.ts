import { Cron } from 'croner';
import { ScheduleError } from './errors.js';

/**
 * Parsed expressions. croner (pinned, `utcOffset: 0`) does all calendar matching in wall-clock space: a
 * local time such as 2027-03-14 02:30 is encoded as if it were UTC, so croner never sees a zone or a DST
 * change; schedule.ts maps wall times to instants. Patterns are timezone-independent and shared.
 */

export const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed expression: timezone-independent, so one is shared by every zone and policy. */
export interface Pattern {
  cron: Cron;
  fixedTime: boolean;
  /** One-entry memo: the first wall match strictly after memoLow is memoNext. */
  memoLow: number;
  memoNext: number | null;
}

// croner keeps a 10,000-entry year table per pattern (~80 KB of the ~83 KB); with a wildcard year every
// pattern's table is identical and read-only after parsing, so all patterns share one (pinned by a test).
const STAR_YEARS: number[] = Array(10_000).fill(1);

export function parsePattern(expression: string): Pattern {
  const text = expression.trim();
  if (text.length === 0 || text.length > 256)
    throw new ScheduleError('SCHED_INVALID_CRON', 'expression', 'must be 1 to 256 characters');
  let fields: string[];
  if (text.startsWith('@')) {
    const macro = MACROS[text.toLowerCase()];
    if (!macro)
      throw new ScheduleError(
        'SCHED_INVALID_CRON',
        'expression',
        `unknown macro ${text}; use one of ${Object.keys(MACROS).join(' ')}`,
      );
    fields = macro.split(' ');
  } else fields = text.split(/\s+/);
  if (fields.length === 5) fields.unshift('0');
  if (fields.length !== 6)
    throw new ScheduleError(
      'SCHED_INVALID_CRON',
      'expression',
      `has ${fields.length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 with leading seconds`,
    );
  const [sec, min, hour, dom, , dow] = fields as [string, string, string, string, string, string];
  // Vixie cron ANDs day-of-month and day-of-week when either field starts with `*` (e.g. `*/2`); croner
  // only for a bare `*`, so say it explicitly with croner's `+` (AND) prefix.
  const free = (f: string) => f === '*' || f === '?';
  if (!free(dom) && !free(dow) && !dow.startsWith('+') && (dom.startsWith('*') || dow.startsWith('*')))
    fields[5] = `+${dow}`;
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), { utcOffset: 0, paused: true, mode: '6-part', domAndDow: false });
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/^CronPattern:\s*/, '') : String(err);
    throw new ScheduleError('SCHED_INVALID_CRON', 'expression', msg);
  }
  const internal = (cron as unknown as { _states?: { pattern?: { starYear?: boolean; year?: number[] } } })
    ._states?.pattern;
  if (internal?.starYear && internal.year?.length === STAR_YEARS.length) internal.year = STAR_YEARS;
  const wild = (f: string) => /[*?/]/.test(f);
  const p: Pattern = {
    cron,
    fixedTime: !wild(sec) && !wild(min) && !wild(hour),
    memoLow: Number.POSITIVE_INFINITY,
    memoNext: null,
  };
  if (wallNext(p, -1) === null)
    throw new ScheduleError('SCHED_CRON_NEVER_FIRES', 'expression', 'matches no date (e.g. 30 February)');
  return p;
}

/** The first wall time (ms, second resolution) matching the pattern strictly after lowWall. */
export function wallNext(p: Pattern, lowWall: number): number | null {
  if (lowWall >= p.memoLow && (p.memoNext === null || lowWall < p.memoNext)) return p.memoNext;
  const d = p.cron.nextRun(new Date(lowWall));
  p.memoLow = lowWall;
  p.memoNext = d ? d.getTime() : null;
  return p.memoNext;
}

/** Least recently used first; a hit moves the key to the back. */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(public max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.set(key, v);
    for (const k of this.map.keys()) {
      if (this.map.size <= this.max) break;
      this.map.delete(k);
    }
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

// Parsed patterns are the heavy part (~3 KB each after the year-table sharing): bounded, and looked up per
// call rather than held by schedules, so 100k distinct expressions cost re-parsing, not memory.
export const patterns = new Lru<Pattern>(4096);
export const patternStats = { patternParses: 0 };

export function patternFor(expression: string): Pattern {
  let p = patterns.get(expression);
  if (!p) {
    p = parsePattern(expression);
    patternStats.patternParses++;
    patterns.set(expression, p);
  }
  return p;
}
