import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { TRIGGER_CHANGES_CHANNEL } from '../../../src/deploy/deployer.js';
import { effectiveFireMs } from '../../../src/triggers/cron/jitter.js';
import { cronRuntimeOf } from '../../../src/triggers/cron/runtime.js';
import { compileSchedule } from '../../../src/triggers/cron/schedule.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { deployCron, engineFires, fireRows } from './helpers.js';

const T0 = Date.parse('2026-03-02T08:00:30Z');

/** A process stall: time jumps while no timer runs (ManualClock.advance would run each on time). */
class StallClock extends ManualClock {
  stall(ms: number): void {
    (this as unknown as { current: number }).current += ms;
  }
}

describe('cron scheduler loop', () => {
  let h: Harness;
  const clock = new StallClock(T0);
  beforeAll(async () => {
    h = await startHarness({
      clock,
      env: { DISPATCH_POLL_INTERVAL_MS: '60000', CRON_RECONCILE_INTERVAL_MS: '10000' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  /** Every engine call under way finished and its outcome written. */
  const delivered = () =>
    h.until(() => {
      const s = h.services.dispatcher.stats();
      return s.active === 0 && s.unwritten === 0 && !s.writing;
    });

  it('fires each nominal time once, as an event through the pipeline', async () => {
    await deployCron(h, 'wf-loop', {
      cron_expression: '* * * * *',
      jitter_seconds: 0,
      timezone: 'Europe/Berlin',
    });
    const rt = cronRuntimeOf(h.services)!;
    // The deploy tells the loop at once; the loop applies it in the background.
    await h.until(() => rt.scheduled('wf-loop', 'cron_1') === Date.parse('2026-03-02T08:01:00Z'));
    // Outside the lookahead (CRON_LOOKAHEAD_MS, 1 s by default) nothing is written yet.
    await clock.setTime('2026-03-02T08:00:58.999Z');
    expect(await fireRows(h, 'wf-loop')).toEqual([]);
    // Within it the tick is claimed and stored ahead, and the engine is still not called.
    await clock.setTime('2026-03-02T08:00:59.999Z');
    await h.until(async () => (await fireRows(h, 'wf-loop'))[0]?.outcome === 'fired');
    // Held by the dispatcher until the instant (its timer runs on this clock).
    await h.until(() => h.services.dispatcher.stats().scheduled === 1);
    expect(engineFires(h, 'wf-loop')).toEqual([]);
    await clock.setTime('2026-03-02T08:01:00Z');
    await h.until(() => engineFires(h, 'wf-loop').length === 1);
    // A minute at a time, each delivery written before the next jump: a jump past the dispatch lease
    // (60 s) with an outcome unwritten is a stalled process, whose claim another poll may rightly take.
    await delivered();
    await clock.setTime('2026-03-02T08:02:00Z');
    await h.until(() => engineFires(h, 'wf-loop').length === 2);
    await delivered();
    await clock.setTime('2026-03-02T08:03:00Z');
    await h.until(() => engineFires(h, 'wf-loop').length === 3);
    const fires = engineFires(h, 'wf-loop');
    expect(fires.map((f) => f.scheduled).sort()).toEqual([
      '2026-03-02T08:01:00.000Z',
      '2026-03-02T08:02:00.000Z',
      '2026-03-02T08:03:00.000Z',
    ]);
    expect(fires[0]!.data).toMatchObject({
      trigger_type: 'CRON',
      cron_expression: '* * * * *',
      timezone: 'Europe/Berlin',
      scheduled_time: '2026-03-02T09:01:00+01:00',
      jitter_ms: 0,
      catchup: false,
    });
    await h.until(async () => (await fireRows(h, 'wf-loop')).every((r) => r.outcome === 'fired'));
    const rows = await fireRows(h, 'wf-loop');
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.event_id)).toBe(true);
  });

  it('applies the deterministic jitter: not before the effective instant, then once', async () => {
    await deployCron(h, 'wf-jitter', { cron_expression: '*/5 * * * *', jitter_seconds: 30 });
    const nominal = Date.parse('2026-03-02T08:05:00Z');
    const { effectiveMs, jitterMs } = effectiveFireMs(
      compileSchedule('*/5 * * * *', 'UTC'),
      'wf-jitter:cron_1',
      nominal,
      30,
    );
    expect(jitterMs).toBeGreaterThan(0);
    await h.until(() => cronRuntimeOf(h.services)!.scheduled('wf-jitter', 'cron_1') === effectiveMs);
    await clock.setTime(effectiveMs - 1);
    await h.until(async () => (await fireRows(h, 'wf-jitter'))[0]?.outcome === 'fired');
    await h.until(() => h.services.dispatcher.stats().scheduled === 1);
    expect(engineFires(h, 'wf-jitter')).toEqual([]);
    await clock.setTime(effectiveMs);
    await h.until(() => engineFires(h, 'wf-jitter').length === 1);
    const [fire] = engineFires(h, 'wf-jitter');
    expect(fire!.scheduled).toBe('2026-03-02T08:05:00.000Z');
    expect(fire!.data.jitter_ms).toBe(jitterMs);
    expect(fire!.data.effective_time).toBe(new Date(effectiveMs).toISOString());
  });

  it('pause, resume, redeploy and undeploy take effect without a restart', async () => {
    await deployCron(h, 'wf-change', { cron_expression: '* * * * *', jitter_seconds: 0 });
    const rt = cronRuntimeOf(h.services)!;
    const base = Math.ceil(clock.now() / 60_000) * 60_000;
    await h.until(() => rt.scheduled('wf-change', 'cron_1') === base);

    const paused = await h.api('POST', '/api/v1/triggers/workflows/wf-change/triggers/cron_1/pause', {
      note: 'maintenance',
    });
    expect(paused.statusCode, paused.body).toBe(200);
    await h.until(() => rt.scheduled('wf-change', 'cron_1') === null);
    await clock.setTime(base + 60_000);
    await h.until(() => engineFires(h, 'wf-jitter').length >= 1);
    expect(engineFires(h, 'wf-change')).toEqual([]);

    const resumed = await h.api('POST', '/api/v1/triggers/workflows/wf-change/triggers/cron_1/resume', {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    // Counts from the resume: the ticks while paused are not caught up.
    await h.until(() => rt.scheduled('wf-change', 'cron_1') === base + 120_000);
    await clock.setTime(base + 120_000);
    await h.until(() => engineFires(h, 'wf-change').length === 1);
    await delivered();

    // A new expression replaces the old schedule in the loop.
    await deployCron(h, 'wf-change', { cron_expression: '*/2 * * * *', jitter_seconds: 0 });
    const even = Math.ceil((clock.now() + 1) / 120_000) * 120_000;
    await h.until(() => rt.scheduled('wf-change', 'cron_1') === even);

    const undeploy = await h.api('DELETE', '/api/v1/deployment/workflows/wf-change/undeploy');
    expect(undeploy.statusCode, undeploy.body).toBe(200);
    await h.until(() => rt.scheduled('wf-change', 'cron_1') === null);
    await delivered();
    await clock.setTime(even);
    await new Promise((r) => setTimeout(r, 200));
    expect(engineFires(h, 'wf-change')).toHaveLength(1);
    const rows = await fireRows(h, 'wf-change');
    expect(rows.map((r) => r.outcome)).toEqual(['fired']);
  });

  it('a stalled loop applies the catch-up policy to the ticks it slept through', async () => {
    await deployCron(h, 'wf-stall', { cron_expression: '* * * * *', jitter_seconds: 0 });
    const start = Math.floor(clock.now() / 60_000) * 60_000 + 60_000;
    await clock.setTime(start);
    await h.until(() => engineFires(h, 'wf-stall').length === 1);
    await delivered();
    clock.stall(10 * 60_000 + 5_000);
    await clock.advance(0);
    await h.until(() => engineFires(h, 'wf-stall').length === 2);
    await h.until(async () => (await fireRows(h, 'wf-stall')).length === 11);
    const rows = await fireRows(h, 'wf-stall');
    const iso = (k: number) => new Date(start + k * 60_000).toISOString();
    expect(rows.map((r) => [r.nominal, r.outcome, r.source, r.reason])).toEqual([
      [iso(0), 'fired', 'schedule', null],
      ...Array.from({ length: 9 }, (_, i) => [iso(i + 1), 'missed', 'schedule', 'superseded_by_latest']),
      [iso(10), 'fired', 'catchup', null],
    ]);
    expect(engineFires(h, 'wf-stall')[1]!.data).toMatchObject({ scheduled_time_utc: iso(10), catchup: true });
  });

  it('reconciliation catches changes no notification announced', async () => {
    const rt = cronRuntimeOf(h.services)!;
    // The deploy's own NOTIFY must have been handled first: its refresh would otherwise read the change below.
    let heard = () => {};
    const notified = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const unlisten = await h.db.listen(TRIGGER_CHANGES_CHANNEL, (id) => id === 'wf-silent' && heard());
    await deployCron(h, 'wf-silent', { cron_expression: '0 0 1 1 *', jitter_seconds: 0 });
    await notified;
    await unlisten();
    await rt.onTriggersChanged('wf-silent');
    // A pause written straight to the table (as a replica whose NOTIFY was lost would leave it) ...
    await h.db.query(
      `UPDATE trigger_index SET enabled = false, deployment_status = 'inactive', updated_at = $1
       WHERE workflow_id = 'wf-silent'`,
      [new Date(clock.now()).toISOString()],
    );
    // ... and a trigger deployed long ago removed without touching any updated_at: only the count differs.
    expect(rt.scheduled('wf-jitter', 'cron_1')).not.toBeNull();
    await h.db.query(`DELETE FROM trigger_index WHERE workflow_id = 'wf-jitter'`);
    expect(rt.scheduled('wf-silent', 'cron_1')).not.toBeNull();
    await clock.advance(10_000);
    await h.until(() => rt.scheduled('wf-silent', 'cron_1') === null);
    expect(rt.scheduled('wf-jitter', 'cron_1')).not.toBeNull();
    // The same difference on two reconciliations in a row: a full reload.
    await clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 100));
    await clock.advance(10_000);
    await h.until(() => rt.scheduled('wf-jitter', 'cron_1') === null);
  });
});
