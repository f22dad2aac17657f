import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { cronRuntimeOf } from '../../../src/triggers/cron/runtime.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { deployCron, engineFires, fireRows, startNode } from './helpers.js';

/**
 * Ticks are claimed and stored up to CRON_LOOKAHEAD_MS (1 s) before their instant, and the engine is
 * called at the instant. Whatever happens in between must behave as if the tick had been taken at the
 * instant: a pause or undeploy (through this replica or behind its back) cancels it, a pause undone in
 * time does not, and a process that stops hands the tick back with its instant.
 */

const T0 = Date.parse('2026-05-04T10:00:10Z');
const minute = (n: number) => Date.parse('2026-05-04T10:00:00Z') + n * 60_000;

interface DispatchRow {
  status: string;
  last_error_code: string | null;
  not_before: string | null;
  next_attempt_at: string;
}

async function dispatchesOf(h: { db: Harness['db'] }, workflowId: string): Promise<DispatchRow[]> {
  const r = await h.db.query<Record<string, unknown>>(
    `SELECT status, last_error_code, not_before, next_attempt_at FROM dispatches WHERE workflow_id = $1
     ORDER BY created_at`,
    [workflowId],
  );
  return r.rows.map((x) => ({
    status: String(x.status),
    last_error_code: (x.last_error_code as string | null) ?? null,
    not_before: x.not_before == null ? null : new Date(x.not_before as string).toISOString(),
    next_attempt_at: new Date(x.next_attempt_at as string).toISOString(),
  }));
}

describe('cron ticks written ahead of their instant', () => {
  let h: Harness;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    h = await startHarness({ clock, env: { DISPATCH_POLL_INTERVAL_MS: '60000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Moves to half a second before the instant and waits until the tick is stored and held. */
  async function writtenAhead(workflowId: string, instant: number): Promise<void> {
    await clock.setTime(instant - 500);
    await h.until(async () => (await fireRows(h, workflowId))[0]?.outcome === 'fired');
    await h.until(async () => (await dispatchesOf(h, workflowId)).length === 1);
    const [d] = await dispatchesOf(h, workflowId);
    expect(d).toMatchObject({ status: 'in_flight', not_before: new Date(instant).toISOString() });
    expect(engineFires(h, workflowId)).toEqual([]);
  }

  it('a pause between the write and the instant cancels the tick without an engine call', async () => {
    await deployCron(h, 'wf-pause', { cron_expression: '* * * * *', jitter_seconds: 0 });
    await writtenAhead('wf-pause', minute(1));
    const paused = await h.api('POST', '/api/v1/triggers/workflows/wf-pause/triggers/cron_1/pause', {});
    expect(paused.statusCode, paused.body).toBe(200);
    await clock.setTime(minute(1));
    await h.until(async () => (await dispatchesOf(h, 'wf-pause'))[0]?.status === 'cancelled');
    expect((await dispatchesOf(h, 'wf-pause'))[0]?.last_error_code).toBe('SCHED_TRIGGER_INACTIVE');
    expect(engineFires(h, 'wf-pause')).toEqual([]);

    // Resumed, the next tick fires as usual.
    const resumed = await h.api('POST', '/api/v1/triggers/workflows/wf-pause/triggers/cron_1/resume', {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    await h.until(() => cronRuntimeOf(h.services)!.scheduled('wf-pause', 'cron_1') === minute(2));
    await clock.setTime(minute(2));
    await h.until(() => engineFires(h, 'wf-pause').length === 1);
    expect(engineFires(h, 'wf-pause')[0]!.scheduled).toBe(new Date(minute(2)).toISOString());
  });

  it('a pause undone before the instant leaves the tick to fire, once', async () => {
    await deployCron(h, 'wf-blip', { cron_expression: '* * * * *', jitter_seconds: 0 });
    await writtenAhead('wf-blip', minute(3));
    const base = '/api/v1/triggers/workflows/wf-blip/triggers/cron_1';
    expect((await h.api('POST', `${base}/pause`, {})).statusCode).toBe(200);
    expect((await h.api('POST', `${base}/resume`, {})).statusCode).toBe(200);
    await h.until(() => cronRuntimeOf(h.services)!.scheduled('wf-blip', 'cron_1') !== null);
    await clock.setTime(minute(3));
    await h.until(async () => (await dispatchesOf(h, 'wf-blip'))[0]?.status === 'succeeded');
    expect(engineFires(h, 'wf-blip').map((f) => f.scheduled)).toEqual([new Date(minute(3)).toISOString()]);
    expect(await dispatchesOf(h, 'wf-blip')).toHaveLength(1);
  });

  it('an undeploy this replica has not heard of yet (another replica, NOTIFY late) still cancels the tick', async () => {
    await deployCron(h, 'wf-gone', { cron_expression: '* * * * *', jitter_seconds: 0 });
    await writtenAhead('wf-gone', minute(4));
    // What another replica's undeploy leaves in the database, without telling this one's loop.
    await h.db.query('DELETE FROM trigger_index WHERE workflow_id = $1', ['wf-gone']);
    await clock.setTime(minute(4));
    await h.until(async () => (await dispatchesOf(h, 'wf-gone'))[0]?.status === 'cancelled');
    expect(engineFires(h, 'wf-gone')).toEqual([]);
  });

  it('a trigger that checks for overlap is claimed at its instant, not ahead', async () => {
    await deployCron(h, 'wf-overlap', {
      cron_expression: '* * * * *',
      jitter_seconds: 0,
      overlap_policy: 'skip',
    });
    // The loop has taken the tick (within the lookahead) and holds it back until the instant.
    await clock.setTime(minute(5) - 500);
    expect(await fireRows(h, 'wf-overlap')).toEqual([]);
    await clock.setTime(minute(5));
    await h.until(() => engineFires(h, 'wf-overlap').length === 1);
    expect(engineFires(h, 'wf-overlap')[0]!.scheduled).toBe(new Date(minute(5)).toISOString());
  });
});

describe('a process that stops while it holds a tick written ahead', () => {
  let h: Harness;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    h = await startHarness({ clock, start: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('hands it back with its instant, and the next process delivers it then, once', async () => {
    const node = (env: Record<string, string> = {}) =>
      startNode({ db: h.db, schema: h.schema, engineUrl: h.engine.url, clock, env });
    const a = await node();
    await deployCron(a, 'wf-handover', { cron_expression: '* * * * *', jitter_seconds: 0 });
    await clock.setTime(minute(1) - 500);
    await h.until(async () => (await dispatchesOf(h, 'wf-handover'))[0]?.status === 'in_flight');
    await h.until(() => a.services.dispatcher.stats().scheduled === 1);
    await a.stop();
    // Given back as due at its instant, not at the moment of the stop.
    expect(await dispatchesOf(h, 'wf-handover')).toEqual([
      {
        status: 'pending',
        last_error_code: null,
        not_before: new Date(minute(1)).toISOString(),
        next_attempt_at: new Date(minute(1)).toISOString(),
      },
    ]);
    expect(engineFires(h, 'wf-handover')).toEqual([]);

    const b = await node({ DISPATCH_POLL_INTERVAL_MS: '50' });
    try {
      await clock.setTime(minute(1));
      // The clock moves on in small steps, so the poll (every 50 ms) gets to run.
      await h.until(async () => {
        await clock.advance(60);
        return (await dispatchesOf(h, 'wf-handover'))[0]?.status === 'succeeded';
      });
      expect(engineFires(h, 'wf-handover').map((f) => f.scheduled)).toEqual([
        new Date(minute(1)).toISOString(),
      ]);
    } finally {
      await b.stop();
    }
  });
});
