import { describe, expect, it } from 'vitest';
import { CATCHUP_REASONS, type CatchupOptions, planCatchup } from '../../../src/triggers/cron/catchup.js';
import { compileSchedule } from '../../../src/triggers/cron/schedule.js';

const at = (iso: string) => Date.parse(iso);
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const hourly = compileSchedule('0 * * * *', 'UTC');

/** An outage from just after the 00:00 fire until 05:30: 01:00 … 05:00 were missed. */
function plan(over: Partial<CatchupOptions>) {
  const p = planCatchup(hourly, {
    lastNominalMs: at('2026-01-01T00:00:00Z'),
    nowMs: at('2026-01-01T05:30:00Z'),
    windowSeconds: 3600,
    policy: 'latest',
    maxRuns: 3,
    ...over,
  });
  return { fire: p.fire.map(hhmm), missed: p.missed.map((m) => `${hhmm(m.nominalMs)} ${m.reason}`) };
}

describe('planCatchup policies (hourly schedule, outage 00:00–05:30)', () => {
  it('latest (default): the newest missed time inside the window fires, older ones are outside it', () => {
    expect(plan({})).toEqual({
      fire: ['05:00'],
      missed: ['01:00', '02:00', '03:00', '04:00'].map((t) => `${t} outside_catchup_window`),
    });
  });

  it('latest with a 4 h window: the others inside the window are superseded', () => {
    expect(plan({ windowSeconds: 4 * 3600 })).toEqual({
      fire: ['05:00'],
      missed: [
        '01:00 outside_catchup_window',
        '02:00 superseded_by_latest',
        '03:00 superseded_by_latest',
        '04:00 superseded_by_latest',
      ],
    });
  });

  it('all: every missed time in the window, bounded by maxRuns keeping the newest', () => {
    expect(plan({ windowSeconds: 4 * 3600, policy: 'all', maxRuns: 2 })).toEqual({
      fire: ['04:00', '05:00'],
      missed: ['01:00 outside_catchup_window', '02:00 catchup_limit', '03:00 catchup_limit'],
    });
    expect(plan({ windowSeconds: 4 * 3600, policy: 'all', maxRuns: 10 })).toEqual({
      fire: ['02:00', '03:00', '04:00', '05:00'],
      missed: ['01:00 outside_catchup_window'],
    });
  });

  it('skip: nothing fires, each missed time says why', () => {
    expect(plan({ windowSeconds: 4 * 3600, policy: 'skip' })).toEqual({
      fire: [],
      missed: [
        '01:00 outside_catchup_window',
        '02:00 catchup_policy_skip',
        '03:00 catchup_policy_skip',
        '04:00 catchup_policy_skip',
        '05:00 catchup_policy_skip',
      ],
    });
  });

  it('a window of 0 catches up only a time due exactly now; nothing missed, nothing planned', () => {
    expect(plan({ windowSeconds: 0, nowMs: at('2026-01-01T05:00:00Z') }).fire).toEqual(['05:00']);
    expect(plan({ windowSeconds: 0 }).fire).toEqual([]);
    expect(plan({ nowMs: at('2026-01-01T00:59:59Z') })).toEqual({ fire: [], missed: [] });
    expect(plan({ nowMs: at('2026-01-01T00:00:00Z') })).toEqual({ fire: [], missed: [] });
  });

  it('the window includes its start: a time exactly windowSeconds old is caught up', () => {
    expect(plan({ nowMs: at('2026-01-01T06:00:00Z'), policy: 'all', windowSeconds: 3600 }).fire).toEqual([
      '05:00',
      '06:00',
    ]);
  });

  it('all across a DST overlap with overlap: both catches up both 01:30s (newest kept)', () => {
    const s = compileSchedule('30 1 * * *', 'America/New_York', { gap: 'shift', overlap: 'both' });
    const p = planCatchup(s, {
      lastNominalMs: at('2026-10-30T12:00:00Z'),
      nowMs: at('2026-11-01T12:00:00Z'),
      windowSeconds: 86_400 * 3,
      policy: 'all',
      maxRuns: 2,
    });
    expect(p.fire.map((t) => new Date(t).toISOString())).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:30:00.000Z',
    ]);
    expect(p.missed).toEqual([{ nominalMs: at('2026-10-31T05:30:00Z'), reason: CATCHUP_REASONS.limit }]);
  });
});

describe('planCatchup stays cheap for huge outages', () => {
  it('a per-second schedule down for 30 days: bounded rows, summary counts, newest fired', () => {
    const s = compileSchedule('* * * * * *', 'Europe/Berlin');
    const last = at('2026-01-01T00:00:00Z');
    const now = at('2026-01-31T00:00:00Z');
    const started = performance.now();
    const p = planCatchup(s, {
      lastNominalMs: last,
      nowMs: now,
      windowSeconds: 3600,
      policy: 'all',
      maxRuns: 10,
    });
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(1000);
    expect(p.fire).toEqual(Array.from({ length: 10 }, (_, i) => now - (9 - i) * 1000));
    const outside = p.missed.filter((m) => m.reason === CATCHUP_REASONS.outsideWindow);
    const limited = p.missed.filter((m) => m.reason === CATCHUP_REASONS.limit);
    // Ten listed one by one, then one summary row per reason.
    expect(outside.slice(0, 10).map((m) => m.nominalMs)).toEqual(
      Array.from({ length: 10 }, (_, i) => last + (i + 1) * 1000),
    );
    expect(outside[10]).toEqual({
      nominalMs: last + 11_000,
      reason: CATCHUP_REASONS.outsideWindow,
      count: 1000,
      countIsLowerBound: true,
      lastNominalMs: now - 3_601_000,
    });
    expect(limited).toHaveLength(11);
    expect(limited[10]).toMatchObject({ count: 1000, countIsLowerBound: true, lastNominalMs: now - 10_000 });
  });

  it('an exact count when the rest is small', () => {
    const s = compileSchedule('*/10 * * * *', 'UTC');
    const p = planCatchup(s, {
      lastNominalMs: at('2026-01-01T00:00:00Z'),
      nowMs: at('2026-01-01T05:00:00Z'),
      windowSeconds: 0,
      policy: 'skip',
      maxRuns: 3,
    });
    // 30 missed times: 05:00 is inside a window of 0 (skipped by policy); of the 29 before it, 10 are
    // listed and one row stands for the other 19.
    expect(p.missed).toHaveLength(12);
    expect(p.missed[10]).toEqual({
      nominalMs: at('2026-01-01T01:50:00Z'),
      reason: CATCHUP_REASONS.outsideWindow,
      count: 19,
      lastNominalMs: at('2026-01-01T04:50:00Z'),
    });
    expect(p.missed[11]).toEqual({
      nominalMs: at('2026-01-01T05:00:00Z'),
      reason: CATCHUP_REASONS.policySkip,
    });
  });

  it('latest over a year of per-minute ticks finds the newest by bisection', () => {
    const s = compileSchedule('*/1 * * * *', 'America/New_York');
    const now = at('2027-06-01T12:34:56Z');
    const p = planCatchup(s, {
      lastNominalMs: at('2026-06-01T00:00:00Z'),
      nowMs: now,
      windowSeconds: 366 * 86_400,
      policy: 'latest',
      maxRuns: 3,
      detailLimit: 0,
    });
    expect(p.fire).toEqual([at('2027-06-01T12:34:00Z')]);
    expect(p.missed).toEqual([
      {
        nominalMs: at('2026-06-01T00:01:00Z'),
        reason: CATCHUP_REASONS.superseded,
        count: 1000,
        countIsLowerBound: true,
        lastNominalMs: at('2027-06-01T12:33:00Z'),
      },
    ]);
  });
});
