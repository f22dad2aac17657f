import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { effectiveFireMs, jitterBoundMs, jitterMs } from '../../../src/triggers/cron/jitter.js';
import { compileSchedule } from '../../../src/triggers/cron/schedule.js';

const T0 = Date.UTC(2026, 0, 1);

describe('jitterMs', () => {
  it('is deterministic per (trigger, nominal time), pinned so a change of hash is noticed', () => {
    // Replicas and restarts must agree on the effective instant; these values are the contract.
    expect(jitterMs('wf-1:cron_1', T0, 30)).toBe(16_770);
    expect(jitterMs('wf-1:cron_1', T0 + 60_000, 30)).toBe(29_211);
    expect(jitterMs('wf-2:cron_1', T0, 30)).toBe(23_649);
    expect(jitterMs('wf-1:cron_1', T0, 30)).toBe(jitterMs('wf-1:cron_1', T0, 30));
  });

  it('0 disables it, and the bound is respected', () => {
    expect(jitterMs('k', T0, 0)).toBe(0);
    expect(jitterMs('k', T0, 30, 0)).toBe(0);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.integer({ min: T0, max: T0 + 10 * 365 * 86_400_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.option(fc.integer({ min: 1, max: 5_000_000 }), { nil: undefined }),
        (key, nominal, seconds, max) => {
          const j = jitterMs(key, nominal, seconds, max);
          expect(Number.isInteger(j)).toBe(true);
          expect(j).toBeGreaterThanOrEqual(0);
          expect(j).toBeLessThan(Math.min(seconds * 1000, max ?? Number.POSITIVE_INFINITY));
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('spreads consecutive nominal times of one trigger evenly over the range', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(jitterMs('wf:node', T0 + i * 60_000, 30) / 3000)]!++;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(850);
      expect(b).toBeLessThan(1150);
    }
  });

  it('spreads triggers sharing one nominal time (aligned schedules)', () => {
    const values = new Set<number>();
    for (let i = 0; i < 1000; i++) values.add(Math.floor(jitterMs(`wf-${i}:cron`, T0, 30) / 1000));
    expect(values.size).toBe(30);
  });
});

describe('jitter bound: below min(interval to the next fire, configured maximum)', () => {
  it('per-second, per-minute and daily schedules', () => {
    expect(jitterBoundMs(compileSchedule('* * * * * *', 'UTC'), T0, 30)).toBe(1000);
    expect(jitterBoundMs(compileSchedule('*/20 * * * * *', 'UTC'), T0, 30)).toBe(20_000);
    expect(jitterBoundMs(compileSchedule('* * * * *', 'UTC'), T0, 30)).toBe(30_000);
    expect(jitterBoundMs(compileSchedule('0 0 * * *', 'UTC'), T0, 30)).toBe(30_000);
    expect(jitterBoundMs(compileSchedule('0 0 * * *', 'UTC'), T0, 0)).toBe(0);
  });

  it('a jittered fire always lands before the next nominal time, also across DST changes', () => {
    const s = compileSchedule('*/1 * * * * *', 'America/New_York');
    const f = compileSchedule('0 * * * *', 'America/New_York');
    for (let t = Date.parse('2026-11-01T05:59:50Z'); t < Date.parse('2026-11-01T06:00:10Z'); t += 1000) {
      const next = s.nextAfter(t)!;
      const { effectiveMs, jitterMs: j } = effectiveFireMs(s, 'wf:n', next, 30);
      expect(effectiveMs - next).toBe(j);
      expect(effectiveMs).toBeLessThan(s.nextAfter(next)!);
    }
    const n = f.nextAfter(Date.parse('2026-11-01T04:30:00Z'))!;
    expect(effectiveFireMs(f, 'wf:n', n, 3600).effectiveMs).toBeLessThan(f.nextAfter(n)!);
  });
});
