import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { countingStatement, stepClock } from '../helpers/seams.js';
import { deployHook, register, waitById } from './helpers.js';

/** The expiry sweeper runs every 5 s while a wait is open, every 60 s when none is, and hurries on activity. */
describe('human in the loop: sweep cadence', () => {
  const clock = new ManualClock('2026-04-01T09:00:00Z');
  let h: Harness;
  let sweeps: ReturnType<typeof countingStatement>;
  beforeAll(async () => {
    h = await startHarness({
      clock,
      wrapDb: (inner) => {
        sweeps = countingStatement(inner, clock, 'hil_sweep');
        return sweeps.db;
      },
      env: { DISPATCH_POLL_INTERVAL_MS: '60000' },
    });
    await deployHook(h, 'wf-sweep', 'sweep', 'correlated');
  });
  afterAll(async () => {
    await h?.close();
  });

  const step = (totalMs: number, stepMs = 1_000) => stepClock(h, clock, sweeps, totalMs, stepMs);
  const gapsSince = (from: number) =>
    sweeps.runs
      .slice(from)
      .map((t, i, a) => (i === 0 ? null : t - a[i - 1]!))
      .slice(1);

  it('sweeps once a minute while nothing is open, every 5 s while a wait is, and closes it on expiry', async () => {
    await step(5_000);
    let from = sweeps.runs.length;
    await step(200_000);
    expect(gapsSince(from)).toEqual([60_000, 60_000]);

    const r = await register(h, {
      execution_id: 'exec-1',
      workflow_id: 'wf-sweep',
      interaction_id: 'q-1',
      kind: 'WEBHOOK',
      match: { 'body.thread_ts': '1.1' },
      expires_at: new Date(clock.now() + 20_000).toISOString(),
    });
    expect(r.statusCode, r.body).toBe(201);
    from = sweeps.runs.length;
    const registeredAt = clock.now();
    await step(40_000);
    // The first sweep after the registration comes within 5 s, and they stay 5 s apart while it is open.
    expect(sweeps.runs[from]! - registeredAt).toBeLessThanOrEqual(5_000);
    expect(gapsSince(from).slice(0, 4)).toEqual([5_000, 5_000, 5_000, 5_000]);
    expect((await waitById(h, r.json().wait.id)).status).toBe('expired');
    // Nothing open any more: back to once a minute.
    from = sweeps.runs.length;
    await step(200_000);
    expect(gapsSince(from).slice(-2)).toEqual([60_000, 60_000]);
  }, 120_000);
});
