import { afterAll, describe, expect, it } from 'vitest';
import { compileSchedule, toZonedIso } from '../../../src/triggers/cron/schedule.js';

// croner #284: a UTC job skewed by the host's DST. Schedules must not depend on the process time zone.
const saved = process.env.TZ;
afterAll(() => {
  if (saved === undefined) delete process.env.TZ;
  else process.env.TZ = saved;
});

function run(expr: string, tz: string, from: string, n: number): string[] {
  return compileSchedule(expr, tz)
    .between(Date.parse(from), Number.POSITIVE_INFINITY, n)
    .map((t) => toZonedIso(t, tz));
}

describe('schedules do not depend on the host time zone', () => {
  it.each(['America/New_York', 'Australia/Lord_Howe', 'UTC'])('host zone %s', (host) => {
    process.env.TZ = host;
    // The change of host zone took effect (else this test could not fail).
    const hostOffset = new Date('2027-03-15T12:00:00Z').getTimezoneOffset();
    expect(hostOffset).toBe({ 'America/New_York': 240, 'Australia/Lord_Howe': -660, UTC: 0 }[host]);
    expect(run('30 2 * * *', 'UTC', '2027-03-13T00:00:00Z', 3)).toEqual([
      '2027-03-13T02:30:00+00:00',
      '2027-03-14T02:30:00+00:00',
      '2027-03-15T02:30:00+00:00',
    ]);
    expect(run('*/30 * * * *', 'UTC', '2026-11-01T05:40:00Z', 3)).toEqual([
      '2026-11-01T06:00:00+00:00',
      '2026-11-01T06:30:00+00:00',
      '2026-11-01T07:00:00+00:00',
    ]);
    expect(run('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2)).toEqual([
      '2026-03-29T03:00:00+02:00',
      '2026-03-30T02:30:00+02:00',
    ]);
  });
});
