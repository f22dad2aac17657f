import { describe, expect, it } from 'vitest';
import {
  compileSchedule,
  type DstPolicy,
  toZonedIso,
  zoneTransitions,
} from '../../../src/triggers/cron/schedule.js';

/** The next n fires after `from`, as local ISO times with offsets (what a person would check). */
function fires(expr: string, tz: string, from: string, n: number, dst?: DstPolicy): string[] {
  const s = compileSchedule(expr, tz, dst);
  return s.between(Date.parse(from), Number.POSITIVE_INFINITY, n).map((t) => toZonedIso(t, tz));
}

const SKIP_FIRST: DstPolicy = { gap: 'skip', overlap: 'first' };
const SHIFT_BOTH: DstPolicy = { gap: 'shift', overlap: 'both' };
const SKIP_BOTH: DstPolicy = { gap: 'skip', overlap: 'both' };

type Row = [
  name: string,
  expr: string,
  tz: string,
  from: string,
  dst: DstPolicy | undefined,
  expected: string[],
];

describe('the zones used below change where this test expects (Node ICU tz data)', () => {
  it.each([
    ['America/New_York', '2027-03-14T07:00:00.000Z', -5, -4],
    ['America/New_York', '2026-11-01T06:00:00.000Z', -4, -5],
    ['Europe/Berlin', '2026-03-29T01:00:00.000Z', 1, 2],
    ['Europe/Berlin', '2026-10-25T01:00:00.000Z', 2, 1],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00.000Z', 10.5, 11],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00.000Z', 11, 10.5],
    ['America/Santiago', '2026-09-06T04:00:00.000Z', -4, -3],
    ['America/Santiago', '2026-04-05T03:00:00.000Z', -3, -4],
  ])('%s changes at %s', (tz, at, before, after) => {
    const t = Date.parse(at);
    const [tr] = zoneTransitions(tz, t - 1, t);
    expect(tr).toEqual({ at: t, before: before * 3_600_000, after: after * 3_600_000 });
  });
});

describe('America/New_York spring forward 2027-03-14 (02:00 EST → 03:00 EDT)', () => {
  it.each<Row>([
    [
      'fixed time in the gap: once, right after the jump',
      '30 2 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      undefined,
      ['2027-03-14T03:00:00-04:00', '2027-03-15T02:30:00-04:00'],
    ],
    [
      'gap: skip',
      '30 2 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      SKIP_FIRST,
      ['2027-03-15T02:30:00-04:00', '2027-03-16T02:30:00-04:00'],
    ],
    [
      '02:00 itself does not exist either',
      '0 2 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      undefined,
      ['2027-03-14T03:00:00-04:00', '2027-03-15T02:00:00-04:00'],
    ],
    [
      'a shifted fire and a real one at the jump are one fire',
      '0,30 2,3 * * *',
      'America/New_York',
      '2027-03-14T06:00:00Z',
      undefined,
      ['2027-03-14T03:00:00-04:00', '2027-03-14T03:30:00-04:00'],
    ],
    [
      'fixed time before the gap is unaffected',
      '30 1 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      undefined,
      ['2027-03-14T01:30:00-05:00', '2027-03-15T01:30:00-04:00'],
    ],
    [
      'hourly runs on elapsed time: 01:00 then 03:00',
      '0 * * * *',
      'America/New_York',
      '2027-03-14T05:30:00Z',
      undefined,
      ['2027-03-14T01:00:00-05:00', '2027-03-14T03:00:00-04:00', '2027-03-14T04:00:00-04:00'],
    ],
    [
      'every 15 minutes: 15 real minutes across the jump',
      '*/15 * * * *',
      'America/New_York',
      '2027-03-14T06:30:00Z',
      undefined,
      ['2027-03-14T01:45:00-05:00', '2027-03-14T03:00:00-04:00', '2027-03-14T03:15:00-04:00'],
    ],
    [
      'interval schedules ignore gap: shift',
      '*/15 2 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      undefined,
      ['2027-03-15T02:00:00-04:00'],
    ],
    [
      'per second (6 fields): one real second across the jump',
      '* * * * * *',
      'America/New_York',
      '2027-03-14T06:59:58Z',
      undefined,
      ['2027-03-14T01:59:59-05:00', '2027-03-14T03:00:00-04:00', '2027-03-14T03:00:01-04:00'],
    ],
    [
      'fixed time with seconds in the gap',
      '15 30 2 * * *',
      'America/New_York',
      '2027-03-13T12:00:00Z',
      undefined,
      ['2027-03-14T03:00:00-04:00', '2027-03-15T02:30:15-04:00'],
    ],
  ])('%s: %s', (_name, expr, tz, from, dst, expected) => {
    expect(fires(expr, tz, from, expected.length, dst)).toEqual(expected);
  });
});

describe('America/New_York fall back 2026-11-01 (02:00 EDT → 01:00 EST)', () => {
  it.each<Row>([
    [
      'fixed time in the repeated hour: once, first occurrence',
      '30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      undefined,
      ['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00'],
    ],
    [
      'overlap: both',
      '30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      SHIFT_BOTH,
      ['2026-11-01T01:30:00-04:00', '2026-11-01T01:30:00-05:00', '2026-11-02T01:30:00-05:00'],
    ],
    [
      'from inside the repeated hour, the second occurrence is still not fired',
      '0 1 * * *',
      'America/New_York',
      '2026-11-01T05:00:00.001Z',
      undefined,
      ['2026-11-02T01:00:00-05:00'],
    ],
    [
      'from inside the repeated hour with both, it is',
      '0 1 * * *',
      'America/New_York',
      '2026-11-01T05:00:00.001Z',
      SKIP_BOTH,
      ['2026-11-01T01:00:00-05:00', '2026-11-02T01:00:00-05:00'],
    ],
    [
      'hourly runs on elapsed time: 01:00 twice',
      '0 * * * *',
      'America/New_York',
      '2026-11-01T04:30:00Z',
      undefined,
      ['2026-11-01T01:00:00-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T02:00:00-05:00'],
    ],
    [
      'every 15 minutes keeps 15 real minutes',
      '*/15 * * * *',
      'America/New_York',
      '2026-11-01T05:40:00Z',
      undefined,
      ['2026-11-01T01:45:00-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T01:15:00-05:00'],
    ],
    [
      'per second: one real second across the change',
      '* * * * * *',
      'America/New_York',
      '2026-11-01T05:59:58Z',
      undefined,
      ['2026-11-01T01:59:59-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T01:00:01-05:00'],
    ],
    [
      'fixed time after the repeated hour is unaffected',
      '30 2 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      undefined,
      ['2026-11-01T02:30:00-05:00', '2026-11-02T02:30:00-05:00'],
    ],
  ])('%s: %s', (_name, expr, tz, from, dst, expected) => {
    expect(fires(expr, tz, from, expected.length, dst)).toEqual(expected);
  });
});

describe('Europe/Berlin, Australia/Lord_Howe (30-minute change), America/Santiago (change at midnight)', () => {
  it.each<Row>([
    [
      'Berlin spring: 02:30 shifted to 03:00',
      '30 2 * * *',
      'Europe/Berlin',
      '2026-03-28T12:00:00Z',
      undefined,
      ['2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00'],
    ],
    [
      'Berlin autumn: 02:30 once',
      '30 2 * * *',
      'Europe/Berlin',
      '2026-10-24T12:00:00Z',
      undefined,
      ['2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00'],
    ],
    [
      'Berlin autumn, both',
      '30 2 * * *',
      'Europe/Berlin',
      '2026-10-24T12:00:00Z',
      SHIFT_BOTH,
      ['2026-10-25T02:30:00+02:00', '2026-10-25T02:30:00+01:00', '2026-10-26T02:30:00+01:00'],
    ],
    [
      'Lord Howe spring: 02:15 shifted to 02:30',
      '15 2 * * *',
      'Australia/Lord_Howe',
      '2026-10-02T12:00:00Z',
      undefined,
      ['2026-10-03T02:15:00+10:30', '2026-10-04T02:30:00+11:00', '2026-10-05T02:15:00+11:00'],
    ],
    [
      'Lord Howe spring, skip',
      '15 2 * * *',
      'Australia/Lord_Howe',
      '2026-10-02T12:00:00Z',
      SKIP_FIRST,
      ['2026-10-03T02:15:00+10:30', '2026-10-05T02:15:00+11:00'],
    ],
    [
      'Lord Howe spring, half-hourly on elapsed time',
      '0,30 * * * *',
      'Australia/Lord_Howe',
      '2026-10-03T14:50:00Z',
      undefined,
      ['2026-10-04T01:30:00+10:30', '2026-10-04T02:30:00+11:00', '2026-10-04T03:00:00+11:00'],
    ],
    [
      'Lord Howe autumn: 01:45 once',
      '45 1 * * *',
      'Australia/Lord_Howe',
      '2026-04-04T00:00:00Z',
      undefined,
      ['2026-04-05T01:45:00+11:00', '2026-04-06T01:45:00+10:30'],
    ],
    [
      'Lord Howe autumn, both',
      '45 1 * * *',
      'Australia/Lord_Howe',
      '2026-04-04T00:00:00Z',
      SHIFT_BOTH,
      ['2026-04-05T01:45:00+11:00', '2026-04-05T01:45:00+10:30', '2026-04-06T01:45:00+10:30'],
    ],
    [
      'Lord Howe autumn, half-hourly: 01:30 twice',
      '0,30 * * * *',
      'Australia/Lord_Howe',
      '2026-04-04T14:10:00Z',
      undefined,
      ['2026-04-05T01:30:00+11:00', '2026-04-05T01:30:00+10:30', '2026-04-05T02:00:00+10:30'],
    ],
    [
      'Santiago spring: midnight does not exist, fires at 01:00',
      '0 0 * * *',
      'America/Santiago',
      '2026-09-05T12:00:00Z',
      undefined,
      ['2026-09-06T01:00:00-03:00', '2026-09-07T00:00:00-03:00'],
    ],
    [
      'Santiago spring, skip',
      '0 0 * * *',
      'America/Santiago',
      '2026-09-05T12:00:00Z',
      SKIP_FIRST,
      ['2026-09-07T00:00:00-03:00'],
    ],
    [
      'Santiago spring, hourly on elapsed time',
      '0 * * * *',
      'America/Santiago',
      '2026-09-06T02:30:00Z',
      undefined,
      ['2026-09-05T23:00:00-04:00', '2026-09-06T01:00:00-03:00', '2026-09-06T02:00:00-03:00'],
    ],
    [
      'Santiago autumn: 23:30 repeats, once',
      '30 23 * * *',
      'America/Santiago',
      '2026-04-04T12:00:00Z',
      undefined,
      ['2026-04-04T23:30:00-03:00', '2026-04-05T23:30:00-04:00'],
    ],
    [
      'Santiago autumn, both',
      '30 23 * * *',
      'America/Santiago',
      '2026-04-04T12:00:00Z',
      SHIFT_BOTH,
      ['2026-04-04T23:30:00-03:00', '2026-04-04T23:30:00-04:00', '2026-04-05T23:30:00-04:00'],
    ],
    [
      'Santiago autumn: the new day starts once',
      '0 0 * * *',
      'America/Santiago',
      '2026-04-04T12:00:00Z',
      undefined,
      ['2026-04-05T00:00:00-04:00', '2026-04-06T00:00:00-04:00'],
    ],
  ])('%s: %s', (_name, expr, tz, from, dst, expected) => {
    expect(fires(expr, tz, from, expected.length, dst)).toEqual(expected);
  });
});

describe('UTC and zones without DST', () => {
  it('a UTC schedule does not move with DST anywhere', () => {
    expect(fires('30 2 * * *', 'UTC', '2027-03-13T00:00:00Z', 3)).toEqual([
      '2027-03-13T02:30:00+00:00',
      '2027-03-14T02:30:00+00:00',
      '2027-03-15T02:30:00+00:00',
    ]);
  });

  it('a zone without DST has no transitions and a constant offset', () => {
    expect(zoneTransitions('Asia/Kolkata', Date.parse('2020-01-01'), Date.parse('2030-01-01'))).toEqual([]);
    expect(fires('0 9 * * *', 'Asia/Kolkata', '2027-03-13T00:00:00Z', 2)).toEqual([
      '2027-03-13T09:00:00+05:30',
      '2027-03-14T09:00:00+05:30',
    ]);
  });
});
