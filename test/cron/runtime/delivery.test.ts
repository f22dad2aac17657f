import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { deployCron, engineFires, fireRows } from './helpers.js';

/** More stuck batches than the database allows claims in flight (PGlite 1, PostgreSQL at most 4). */
const SLOW = 5;

describe('claims do not wait for the delivery of earlier ticks', () => {
  let h: Harness;
  const clock = new ManualClock('2026-05-04T10:00:50Z');
  beforeAll(async () => {
    // A long engine timeout: the overlap checks below hang until the test drops them.
    h = await startHarness({
      clock,
      env: { DISPATCH_POLL_INTERVAL_MS: '60000', ENGINE_TIMEOUT_MS: '30000', DISPATCH_LEASE_MS: '120000' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const at = (s: number) => `2026-05-04T10:02:${String(s).padStart(2, '0')}.000Z`;

  it('fires a tick on time while the ticks of earlier seconds wait for an engine that does not answer', async () => {
    for (let i = 0; i < SLOW; i++)
      await deployCron(h, `wf-slow-${i}`, {
        cron_expression: `${i} * * * * *`,
        jitter_seconds: 0,
        overlap_policy: 'skip',
      });
    await deployCron(h, 'wf-plain', { cron_expression: '10 * * * * *', jitter_seconds: 0 });

    // First minute: each slow trigger fires once (no previous run, so no check) and its run ends.
    for (let i = 0; i < SLOW; i++) await clock.setTime(`2026-05-04T10:01:0${i}Z`);
    await h.until(async () => {
      const r = await h.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM dispatches WHERE workflow_id LIKE 'wf-slow-%' AND status = 'succeeded'`,
      );
      return r.rows[0]?.n === SLOW;
    });
    for (const e of h.engine.executions.values()) e.status = 'SUCCESS';

    // Second minute: each slow tick is claimed in a batch of its own, then hangs in its overlap check.
    h.engine.behaviour.hangStatus = true;
    for (let i = 0; i < SLOW; i++) {
      await clock.setTime(at(i));
      await h.until(async () => (await fireRows(h, `wf-slow-${i}`))[1]?.nominal === at(i));
    }
    await h.until(() => h.engine.calls.filter((c) => c.path.startsWith('/v2/executions/')).length === SLOW);

    await clock.setTime(at(10));
    await h.until(() => engineFires(h, 'wf-plain').some((f) => f.scheduled === at(10)));
    // The outcome is written after the event (with the next claim, or alone once claims are idle).
    await h.until(async () =>
      (await fireRows(h, 'wf-plain')).some((f) => f.nominal === at(10) && f.outcome === 'fired'),
    );
    for (let i = 0; i < SLOW; i++) {
      const rows = await fireRows(h, `wf-slow-${i}`);
      expect(rows[1], `wf-slow-${i}`).toMatchObject({ nominal: at(i), outcome: 'claimed' });
    }

    // The engine answers again (the hanging checks fail): a check that fails lets the tick fire.
    h.engine.behaviour.hangStatus = false;
    h.engine.dropHanging();
    for (let i = 0; i < SLOW; i++)
      await h.until(async () => (await fireRows(h, `wf-slow-${i}`))[1]?.outcome === 'fired');
    // 'fired' means the event is stored; the engine hears of it just after.
    for (let i = 0; i < SLOW; i++)
      await h.until(() => engineFires(h, `wf-slow-${i}`).some((f) => f.scheduled === at(i)));
  });
});
