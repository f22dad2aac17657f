import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import {
  compileSchedule,
  cronCacheStats,
  ScheduleError,
  setCronCacheLimits,
} from '../../../src/triggers/cron/schedule.js';

/** Next n fires in UTC after from, as ISO strings without milliseconds. */
function utc(expr: string, n: number, from = '2026-01-01T00:00:00Z', tz = 'UTC'): string[] {
  return compileSchedule(expr, tz)
    .between(Date.parse(from), Number.POSITIVE_INFINITY, n)
    .map((t) => new Date(t).toISOString().replace('.000Z', 'Z'));
}

function errorOf(fn: () => unknown): ScheduleError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ScheduleError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('expression syntax', () => {
  it('5 fields, and 6 with leading seconds', () => {
    expect(utc('0 9 * * *', 2)).toEqual(['2026-01-01T09:00:00Z', '2026-01-02T09:00:00Z']);
    expect(utc('*/20 * * * * *', 4)).toEqual([
      '2026-01-01T00:00:20Z',
      '2026-01-01T00:00:40Z',
      '2026-01-01T00:01:00Z',
      '2026-01-01T00:01:20Z',
    ]);
    expect(utc('15 30 9 * * *', 1)).toEqual(['2026-01-01T09:30:15Z']);
  });

  it('month and day names, ranges, lists and steps', () => {
    expect(utc('0 9 * JAN,feb MON-FRI', 3)).toEqual([
      '2026-01-01T09:00:00Z',
      '2026-01-02T09:00:00Z',
      '2026-01-05T09:00:00Z',
    ]);
    expect(utc('0 8-18/5 * * *', 3)).toEqual([
      '2026-01-01T08:00:00Z',
      '2026-01-01T13:00:00Z',
      '2026-01-01T18:00:00Z',
    ]);
    expect(utc('0 0 1 */4 *', 3)).toEqual([
      '2026-05-01T00:00:00Z',
      '2026-09-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ]);
  });

  it.each([
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    ['@monthly', '0 0 1 * *'],
    ['@weekly', '0 0 * * 0'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@hourly', '0 * * * *'],
    ['@HOURLY', '0 * * * *'],
  ])('%s is %s', (macro, expansion) => {
    expect(utc(macro, 5, '2026-01-01T00:30:00Z')).toEqual(utc(expansion, 5, '2026-01-01T00:30:00Z'));
  });

  it('Sunday is 0 and 7 (and SUN)', () => {
    const sundays = ['2026-01-04T00:00:00Z', '2026-01-11T00:00:00Z', '2026-01-18T00:00:00Z'];
    expect(utc('0 0 * * 0', 3)).toEqual(sundays);
    expect(utc('0 0 * * 7', 3)).toEqual(sundays);
    expect(utc('0 0 * * SUN', 3)).toEqual(sundays);
    expect(utc('0 0 * * 5-7', 4)).toEqual([
      '2026-01-02T00:00:00Z',
      '2026-01-03T00:00:00Z',
      '2026-01-04T00:00:00Z',
      '2026-01-09T00:00:00Z',
    ]);
  });

  it('day of month OR day of week when both are restricted (Vixie): 30 4 1,15 * 5', () => {
    // January 2026: the 1st (Thu), the 15th (Thu) and every Friday (2, 9, 16, 23, 30).
    expect(utc('30 4 1,15 * 5', 7)).toEqual([
      '2026-01-01T04:30:00Z',
      '2026-01-02T04:30:00Z',
      '2026-01-09T04:30:00Z',
      '2026-01-15T04:30:00Z',
      '2026-01-16T04:30:00Z',
      '2026-01-23T04:30:00Z',
      '2026-01-30T04:30:00Z',
    ]);
  });

  it('a day field starting with * counts as unrestricted, as in Vixie cron: AND', () => {
    // Odd days of the month that are Mondays: Jan 5, 19; Feb 9, 23.
    expect(utc('0 0 */2 * 1', 4)).toEqual([
      '2026-01-05T00:00:00Z',
      '2026-01-19T00:00:00Z',
      '2026-02-09T00:00:00Z',
      '2026-02-23T00:00:00Z',
    ]);
  });

  it('Feb 29 fires in leap years only, in any zone', () => {
    expect(utc('0 0 29 2 *', 3)).toEqual([
      '2028-02-29T00:00:00Z',
      '2032-02-29T00:00:00Z',
      '2036-02-29T00:00:00Z',
    ]);
    expect(utc('0 0 29 2 *', 2, '2026-01-01T00:00:00Z', 'Europe/Berlin')).toEqual([
      '2028-02-28T23:00:00Z',
      '2032-02-28T23:00:00Z',
    ]);
  });

  it('the 31st fires only in months that have one', () => {
    expect(utc('0 0 31 * *', 7)).toEqual([
      '2026-01-31T00:00:00Z',
      '2026-03-31T00:00:00Z',
      '2026-05-31T00:00:00Z',
      '2026-07-31T00:00:00Z',
      '2026-08-31T00:00:00Z',
      '2026-10-31T00:00:00Z',
      '2026-12-31T00:00:00Z',
    ]);
  });

  it('L, W and # as croner supports them', () => {
    expect(utc('0 0 L 2 *', 2)).toEqual(['2026-02-28T00:00:00Z', '2027-02-28T00:00:00Z']);
    expect(utc('0 0 * * 5L', 2)).toEqual(['2026-01-30T00:00:00Z', '2026-02-27T00:00:00Z']);
    expect(utc('0 0 15W * *', 2)).toEqual(['2026-01-15T00:00:00Z', '2026-02-16T00:00:00Z']);
    expect(utc('0 0 LW * *', 2)).toEqual(['2026-01-30T00:00:00Z', '2026-02-27T00:00:00Z']);
    expect(utc('0 0 * * 1#2', 2)).toEqual(['2026-01-12T00:00:00Z', '2026-02-09T00:00:00Z']);
  });

  it('fixed-time versus interval entries', () => {
    expect(compileSchedule('30 2 * * *', 'UTC').fixedTime).toBe(true);
    expect(compileSchedule('0,30 9-17 * * 1-5', 'UTC').fixedTime).toBe(true);
    expect(compileSchedule('@daily', 'UTC').fixedTime).toBe(true);
    for (const e of ['0 * * * *', '*/15 * * * *', '0 */2 * * *', '* * * * * *', '@hourly', '*/10 30 2 * * *'])
      expect(compileSchedule(e, 'UTC').fixedTime, e).toBe(false);
  });

  it.each([
    ['61 * * * *', 'SCHED_INVALID_CRON', /minute/],
    ['* * * *', 'SCHED_INVALID_CRON', /4 fields/],
    ['0 0 0 1 1 * 2030', 'SCHED_INVALID_CRON', /7 fields/],
    ['@reboot', 'SCHED_INVALID_CRON', /unknown macro/],
    ['0 0 * * 8', 'SCHED_INVALID_CRON', /dayOfWeek/],
    ['*/0 * * * *', 'SCHED_INVALID_CRON', /stepping/],
    ['', 'SCHED_INVALID_CRON', /1 to 256/],
    ['0 0 30 2 *', 'SCHED_CRON_NEVER_FIRES', /no date/],
    ['0 0 31 4 *', 'SCHED_CRON_NEVER_FIRES', /no date/],
  ])('%j is rejected with %s', (expr, code, message) => {
    const e = errorOf(() => compileSchedule(expr, 'UTC'));
    expect(e.code).toBe(code);
    expect(e.field).toBe('expression');
    expect(e.message).toMatch(message);
  });

  it.each(['Mars/Olympus', '+05:00', 'Europe/Berlin; DROP', ''])('zone %j is rejected', (tz) => {
    const e = errorOf(() => compileSchedule('0 0 * * *', tz));
    expect([e.code, e.field]).toEqual(['SCHED_INVALID_TIMEZONE', 'timezone']);
  });

  it('a DST policy outside the two choices is rejected', () => {
    const e = errorOf(() => compileSchedule('0 0 * * *', 'UTC', { gap: 'later', overlap: 'first' } as never));
    expect([e.code, e.field]).toEqual(['SCHED_INVALID_DST_POLICY', 'dst_policy']);
  });
});

describe('croner as pinned', () => {
  it('is version 11 and ORs day of month and day of week by default (option domAndDow, not legacyMode)', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../node_modules/croner/package.json', import.meta.url), 'utf8'),
    );
    expect(pkg.version).toMatch(/^11\./);
    const first = (opts: object) =>
      new Cron('30 4 1,15 * 5', { utcOffset: 0, ...opts })
        .nextRuns(3, new Date('2026-01-01T00:00:00Z'))
        .map((d) => d.toISOString());
    expect(first({})).toEqual([
      '2026-01-01T04:30:00.000Z',
      '2026-01-02T04:30:00.000Z',
      '2026-01-09T04:30:00.000Z',
    ]);
    expect(first({ domAndDow: true })).toEqual([
      '2026-05-01T04:30:00.000Z',
      '2026-05-15T04:30:00.000Z',
      '2027-01-01T04:30:00.000Z',
    ]);
  });

  it('parsed patterns share croner’s year table: a few KB each instead of ~83 KB', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const keep: unknown[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    // Distinct expressions in distinct zones, so nothing is shared but the year table.
    for (let i = 0; i < 400; i++)
      keep.push(compileSchedule(`${i % 60} ${Math.floor(i / 60)} * * * 1`, 'Europe/Paris'));
    gc();
    const perPattern = (process.memoryUsage().heapUsed - before) / keep.length;
    expect(perPattern).toBeLessThan(8 * 1024);
    expect(keep.length).toBe(400);
  });
});

describe('caching', () => {
  it('shares a compiled schedule per (expression, zone, policy) and a parsed pattern per expression', () => {
    const a = compileSchedule('7 7 * * *', 'Europe/Berlin');
    expect(compileSchedule('7 7 * * *', 'Europe/Berlin')).toBe(a);
    const parses = cronCacheStats().patternParses;
    const b = compileSchedule('7 7 * * *', 'Asia/Tokyo');
    const c = compileSchedule('7 7 * * *', 'Europe/Berlin', { gap: 'skip', overlap: 'both' });
    expect(b).not.toBe(a);
    expect(c).not.toBe(a);
    expect(cronCacheStats().patternParses).toBe(parses);
  });

  it('stays correct when the pattern cache is smaller than the set of expressions in use', () => {
    const limit = cronCacheStats().patternLimit;
    try {
      setCronCacheLimits({ patterns: 2 });
      const schedules = ['1 * * * *', '2 * * * *', '3 * * * *', '4 * * * *'].map((e) =>
        compileSchedule(e, 'UTC'),
      );
      const t = Date.parse('2026-01-01T00:00:30Z');
      for (let round = 0; round < 3; round++)
        expect(schedules.map((s) => new Date(s.nextAfter(t + round * 3_600_000)!).getUTCMinutes())).toEqual([
          1, 2, 3, 4,
        ]);
      expect(cronCacheStats().patterns).toBeLessThanOrEqual(2);
    } finally {
      setCronCacheLimits({ patterns: limit });
    }
  });

  it('rejects a non-finite instant instead of looping', () => {
    expect(() => compileSchedule('* * * * *', 'UTC').nextAfter(Number.NaN)).toThrow(TypeError);
    expect(compileSchedule('* * * * *', 'UTC').nextAfter(Date.UTC(3000, 0, 1))).toBeNull();
  });
});
