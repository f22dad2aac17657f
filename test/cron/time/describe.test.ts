import { describe, expect, it } from 'vitest';
import { describeCron, dstNotes } from '../../../src/triggers/cron/describe.js';
import { compileSchedule, type DstPolicy, ScheduleError } from '../../../src/triggers/cron/schedule.js';

describe('describeCron', () => {
  it.each([
    ['0 9 * * 1-5', 'At 09:00, Monday through Friday'],
    ['0 9 * * MON-FRI', 'At 09:00, Monday through Friday'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['* * * * *', 'Every minute'],
    ['* * * * * *', 'Every second'],
    ['*/20 * * * * *', 'Every 20 seconds'],
    ['0 * * * *', 'At minute 0 past every hour'],
    ['@hourly', 'At minute 0 past every hour'],
    ['15,45 * * * *', 'At minutes 15 and 45 past every hour'],
    ['0 */2 * * *', 'At minute 0 past every 2nd hour'],
    ['*/5 9-17 * * *', 'Every 5 minutes, between 09:00 and 17:59'],
    ['0,30 9 * * *', 'At 09:00 and 09:30'],
    ['15 30 2 * * *', 'At 02:30:15'],
    ['@daily', 'At 00:00'],
    ['@yearly', 'At 00:00, on day 1 of the month, in January'],
    ['0 0 * * 0', 'At 00:00, on Sunday'],
    ['0 0 * * 7', 'At 00:00, on Sunday'],
    ['30 4 1,15 * 5', 'At 04:30, on days 1 and 15 of the month or on Friday'],
    ['0 0 */2 * 1', 'At 00:00, on every 2nd day of the month, if it is a Monday'],
    ['0 0 29 2 *', 'At 00:00, on day 29 of the month, in February'],
    ['0 0 L * *', 'At 00:00, on the last day of the month'],
    ['0 0 LW * *', 'At 00:00, on the last weekday of the month'],
    ['0 0 15W * *', 'At 00:00, on the weekday nearest day 15 of the month'],
    ['0 0 * * 5L', 'At 00:00, on the last Friday of the month'],
    ['0 0 * * 1#2', 'At 00:00, on the second Monday of the month'],
    ['0 0 1 */3 *', 'At 00:00, on day 1 of the month, every 3rd month'],
    ['0 12 * JAN,JUL SUN', 'At 12:00, on Sunday, in January and July'],
    ['0 8-18/2 * * 1-5', 'At minute 0 past every 2nd hour from 8 through 18, Monday through Friday'],
  ])('%s → %s', (expr, text) => {
    expect(describeCron(expr)).toBe(text);
  });

  it('rejects what the schedule rejects', () => {
    expect(() => describeCron('61 * * * *')).toThrow(ScheduleError);
    expect(() => describeCron('0 15,45 * * *')).toThrow(/hour/);
  });
});

const NY = 'America/New_York';
const Y2027 = [Date.parse('2027-01-01T00:00:00Z'), Date.parse('2028-01-01T00:00:00Z')] as const;
const iso = (ms: number) => new Date(ms).toISOString();

function notes(expr: string, tz: string, dst?: DstPolicy, window: readonly [number, number] = Y2027) {
  return dstNotes(compileSchedule(expr, tz, dst), window[0], window[1]);
}

describe('dstNotes', () => {
  it('a fixed time in the gap is shifted to the jump; the overlap does not touch it', () => {
    const [spring, fall] = notes('30 2 * * *', NY);
    expect(spring).toMatchObject({
      kind: 'gap',
      atMs: Date.parse('2027-03-14T07:00:00Z'),
      localFrom: '2027-03-14 02:00',
      localTo: '2027-03-14 03:00',
      localTimes: ['2027-03-14 02:30'],
      effect: 'shifted',
      fires: [{ atMs: Date.parse('2027-03-14T07:00:00Z'), label: 'shifted' }],
    });
    expect(spring?.message).toMatch(/02:30 does not exist; fires once at 2027-03-14 03:00/);
    expect(fall).toMatchObject({ kind: 'overlap', effect: 'none', fires: [] });
  });

  it('skip, first and both as configured', () => {
    expect(notes('30 2 * * *', NY, { gap: 'skip', overlap: 'first' })[0]).toMatchObject({
      effect: 'skipped',
      fires: [],
    });
    const once = notes('30 1 * * *', NY)[1]!;
    expect(once).toMatchObject({ effect: 'fired_once', localTimes: ['2027-11-07 01:30'] });
    expect(once.fires.map((f) => [iso(f.atMs), f.label])).toEqual([
      ['2027-11-07T05:30:00.000Z', 'first_occurrence'],
    ]);
    const twice = notes('30 1 * * *', NY, { gap: 'shift', overlap: 'both' })[1]!;
    expect(twice.effect).toBe('fired_twice');
    expect(twice.fires.map((f) => [iso(f.atMs), f.label])).toEqual([
      ['2027-11-07T05:30:00.000Z', 'first_occurrence'],
      ['2027-11-07T06:30:00.000Z', 'second_occurrence'],
    ]);
  });

  it('interval schedules run on elapsed time whatever the policy', () => {
    const [spring, fall] = notes('*/15 * * * *', NY);
    expect(spring).toMatchObject({ effect: 'skipped', localTimeCount: 4 });
    expect(spring?.message).toMatch(/interval schedule runs on elapsed time/);
    expect(fall).toMatchObject({ effect: 'fired_twice', localTimeCount: 4 });
    expect(fall?.fires).toHaveLength(8);
  });

  it('a 30-minute change (Lord Howe) and a midnight change (Santiago)', () => {
    const lh = notes('15 2 * * *', 'Australia/Lord_Howe', undefined, [
      Date.parse('2026-10-01'),
      Date.parse('2026-10-10'),
    ]);
    expect(lh).toHaveLength(1);
    expect(lh[0]).toMatchObject({
      localFrom: '2026-10-04 02:00',
      localTo: '2026-10-04 02:30',
      effect: 'shifted',
    });
    const cl = notes('0 0 * * *', 'America/Santiago', undefined, [
      Date.parse('2026-09-01'),
      Date.parse('2026-09-30'),
    ]);
    expect(cl[0]).toMatchObject({
      localFrom: '2026-09-06 00:00',
      localTo: '2026-09-06 01:00',
      effect: 'shifted',
    });
  });

  it('no notes for a zone without changes', () => {
    expect(notes('30 2 * * *', 'UTC')).toEqual([]);
    expect(notes('30 2 * * *', 'Asia/Tokyo')).toEqual([]);
  });
});
