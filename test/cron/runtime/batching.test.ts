import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalescedWake, ManualClock } from '../../../src/clock.js';
import type { Db } from '../../../src/db/db.js';
import { cronRuntimeOf } from '../../../src/triggers/cron/runtime.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { interceptQueries } from '../../helpers/seams.js';
import { deployCron, engineFires } from './helpers.js';

describe('coalescedWake', () => {
  it('wakes at the ideal time after a quiet spell, within the window while busy, at once when late', () => {
    // Nothing for a while: no delay.
    expect(coalescedWake(1_000, 0, 100)).toBe(1_000);
    // Woken 30 ms ago: held back to the window's end, which is still within `window` of the ideal.
    expect(coalescedWake(1_000, 970, 100)).toBe(1_070);
    // The ideal is later than the window's end anyway.
    expect(coalescedWake(1_200, 970, 100)).toBe(1_200);
    // Overdue work (a backlog) is never held back by more than the window past its ideal time.
    expect(coalescedWake(500, 970, 100)).toBe(600);
  });
});

/**
 * At 100k schedules about 1,700 ticks fall due each second, spread over it by their jitter. Taken as each
 * one's timer went off, a second's ticks were claimed about five per statement and their gates read about
 * four per statement (bench/cron). The loop takes ticks over a window of a tenth of the lookahead and the
 * dispatcher reads gates over 50 ms, so a second's ticks take a handful of statements, and every tick is
 * still claimed ahead by at least the lookahead less the window, and gated ahead.
 */
describe('a second of jittered ticks', () => {
  const T0 = Date.parse('2026-05-04T10:00:10Z');
  const instant = Date.parse('2026-05-04T10:01:00Z');
  const clock = new ManualClock(T0);
  const N = 150;
  const gates: number[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clock,
      env: { DISPATCH_POLL_INTERVAL_MS: '60000' },
      wrapDb: (db: Db) =>
        interceptQueries(db, (q, text, params) => {
          if (typeof text !== 'string' && text.name === 'dispatch_gate') gates.push(clock.now());
          return q.query(text, params);
        }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is claimed and gated in a few batches, each tick ahead of its instant', async () => {
    for (let i = 0; i < N; i++)
      await deployCron(h, `wf-batch-${i}`, { cron_expression: '* * * * *', jitter_seconds: 1 });
    const rt = cronRuntimeOf(h.services)!;
    const spread = Array.from({ length: N }, (_, i) => rt.scheduled(`wf-batch-${i}`, 'cron_1')!);
    // The jitter spreads the ticks over the second after the instant.
    expect(Math.max(...spread) - Math.min(...spread)).toBeGreaterThan(500);
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(instant);

    const claims: { at: number; effective: number[] }[] = [];
    rt.firer.observer = ({ items, claimedAt }) =>
      claims.push({ at: claimedAt, effective: items.map((it) => it.effective) });
    // Time moves in 10 ms steps, each step's claims and deliveries done before the next, so the
    // statements counted depend on the timers only.
    for (let t = instant - 1_200; t <= instant + 1_200; t += 10) {
      await clock.setTime(t);
      await h.until(() => rt.firer.busy === 0);
    }
    const calls = () => h.engine.executeCalls().filter((c) => c.path.includes('/wf-batch-'));
    await h.until(() => calls().length >= N);
    rt.firer.observer = undefined;

    const claimed = claims.flatMap((c) => c.effective.map((e) => ({ at: c.at, e })));
    expect(claimed).toHaveLength(N);
    // Within the lookahead (1 s), and no later than a tenth of it less (and the 10-ms step in which the
    // claim's commit was seen).
    for (const { at, e } of claimed) {
      expect(e - at).toBeLessThanOrEqual(1_000);
      expect(e - at).toBeGreaterThanOrEqual(890);
    }
    // One claim per 100 ms window at most (a wake-up per tick made dozens here).
    expect(claims.length).toBeLessThanOrEqual(12);
    // Gate reads: one per 50 ms window at most, where a read per tick's timer made dozens.
    expect(gates.length).toBeGreaterThan(0);
    expect(gates.length).toBeLessThanOrEqual(22);
    // Every tick was called once.
    for (let i = 0; i < N; i++) expect(engineFires(h, `wf-batch-${i}`)).toHaveLength(1);
    expect(calls()).toHaveLength(N);
  });
});
