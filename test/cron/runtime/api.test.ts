import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { type Harness, startHarness } from '../../helpers/harness.js';
import { workflowSpec } from '../../helpers/workflows.js';
import { deployCron, engineFires, fireRows } from './helpers.js';

const base = '/api/v1/triggers/workflows';

describe('per-trigger API and overlap', () => {
  let h: Harness;
  const clock = new ManualClock('2026-05-04T10:00:50Z');
  beforeAll(async () => {
    h = await startHarness({ clock, env: { DISPATCH_POLL_INTERVAL_MS: '60000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('describes a cron trigger: next fires with jitter, last fires with outcomes, counters', async () => {
    await deployCron(h, 'wf-api', {
      cron_expression: '* * * * *',
      jitter_seconds: 10,
      timezone: 'America/New_York',
    });
    await clock.setTime('2026-05-04T10:01:10Z');
    await h.until(() => engineFires(h, 'wf-api').length === 1);
    await h.until(async () => (await fireRows(h, 'wf-api'))[0]?.outcome === 'fired');
    await h.until(async () => {
      const r = await h.api('GET', `${base}/wf-api/triggers/cron_1?limit=3`);
      return r.json().details.schedule.last_fires[0]?.dispatch?.status === 'succeeded';
    });
    const r = await h.api('GET', `${base}/wf-api/triggers/cron_1?limit=3`);
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ workflow_id: 'wf-api', node_id: 'cron_1', paused: false, last_pause: null });
    const s = body.details.schedule;
    expect(s).toMatchObject({ expression: '* * * * *', timezone: 'America/New_York', in_loop: true });
    expect(s.description).toEqual(expect.any(String));
    expect(s.next_fires).toHaveLength(3);
    expect(s.next_fires[0]).toMatchObject({
      nominal_time: '2026-05-04T10:02:00.000Z',
      local_time: '2026-05-04T06:02:00-04:00',
    });
    for (const n of s.next_fires) {
      expect(n.jitter_ms).toBeGreaterThanOrEqual(0);
      expect(n.jitter_ms).toBeLessThan(10_000);
      expect(Date.parse(n.effective_time) - Date.parse(n.nominal_time)).toBe(n.jitter_ms);
    }
    expect(s.last_fires).toHaveLength(1);
    expect(s.last_fires[0]).toMatchObject({
      nominal_time: '2026-05-04T10:01:00.000Z',
      source: 'schedule',
      outcome: 'fired',
      reason: null,
      dispatch: { status: 'succeeded', execution_id: expect.any(String), dispatched_at: expect.any(String) },
    });
    expect(s.counters).toMatchObject({ fired: 1, missed: 0, skipped: 0 });
    // The fire's effective time is what the loop used, and the engine saw the same jitter.
    const [fire] = engineFires(h, 'wf-api');
    expect(Date.parse(s.last_fires[0].effective_time) - Date.parse(s.last_fires[0].nominal_time)).toBe(
      fire!.data.jitter_ms,
    );
  });

  it('pauses and resumes one trigger with a note, idempotently; other users see 404', async () => {
    const other = await h.api('POST', `${base}/wf-api/triggers/cron_1/pause`, {}, 'user-2');
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('SCHED_WORKFLOW_NOT_FOUND');
    const missing = await h.api('POST', `${base}/wf-api/triggers/nope/pause`, {});
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('SCHED_TRIGGER_NOT_FOUND');

    const p1 = await h.api('POST', `${base}/wf-api/triggers/cron_1/pause`, { note: 'holiday' });
    expect(p1.statusCode, p1.body).toBe(200);
    expect(p1.json()).toMatchObject({
      changed: true,
      trigger: { enabled: false, status: 'inactive' },
      last_pause: { action: 'pause', note: 'holiday', actor: 'user-1' },
    });
    const p2 = await h.api('POST', `${base}/wf-api/triggers/cron_1/pause`);
    expect(p2.json().changed).toBe(false);
    const d = await h.api('GET', `${base}/wf-api/triggers/cron_1`);
    expect(d.json()).toMatchObject({ paused: true, last_pause: { note: 'holiday' } });
    await h.until(
      async () =>
        (await h.api('GET', `${base}/wf-api/triggers/cron_1`)).json().details.schedule.in_loop === false,
    );

    const run = await h.api('POST', `${base}/wf-api/triggers/cron_1/run`);
    expect(run.statusCode).toBe(409);
    expect(run.json().code).toBe('SCHED_TRIGGER_DISABLED');

    const r1 = await h.api('POST', `${base}/wf-api/triggers/cron_1/resume`, {});
    expect(r1.json()).toMatchObject({ changed: true, trigger: { enabled: true, status: 'active' } });
    await h.until(
      async () =>
        (await h.api('GET', `${base}/wf-api/triggers/cron_1`)).json().details.schedule.in_loop === true,
    );
  });

  it('runs a cron trigger now through the same pipeline', async () => {
    const run = await h.api('POST', `${base}/wf-api/triggers/cron_1/run`);
    expect(run.statusCode, run.body).toBe(202);
    const now = new Date(clock.now()).toISOString();
    expect(run.json()).toMatchObject({
      nominal_time: now,
      outcome: 'fired',
      idempotency_key: `CRON:wf-api:cron_1:${now}`,
      event_id: expect.any(String),
      dispatch_id: expect.any(String),
    });
    await h.until(() => engineFires(h, 'wf-api').some((f) => f.data.run_now === true));
    const fire = engineFires(h, 'wf-api').find((f) => f.data.run_now === true)!;
    expect(fire.data).toMatchObject({ trigger_type: 'CRON', scheduled_time_utc: now, catchup: false });
    const list = await h.api('GET', `${base}/wf-api/triggers/cron_1/fires?limit=5`);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().fires[0]).toMatchObject({ nominal_time: now, source: 'run_now', outcome: 'fired' });
    expect(list.json().counters.run_now).toBe(1);
  });

  it('refuses cron operations on other kinds, with a code naming the node', async () => {
    const spec = workflowSpec('wf-manual', [{ id: 'manual_1', subtype: 'MANUAL' }]);
    const dep = await h.api('POST', '/api/v1/deployment/workflows/wf-manual/deploy', { workflow_spec: spec });
    expect(dep.statusCode).toBe(200);
    const run = await h.api('POST', `${base}/wf-manual/triggers/manual_1/run`);
    expect(run.statusCode).toBe(400);
    expect(run.json()).toMatchObject({ code: 'SCHED_NOT_A_CRON_TRIGGER', details: { node_id: 'manual_1' } });
    // Describe works for any kind; kinds without a describe add nothing.
    const d = await h.api('GET', `${base}/wf-manual/triggers/manual_1`);
    expect(d.statusCode).toBe(200);
    expect(d.json()).toMatchObject({ trigger: { subtype: 'MANUAL' }, details: {} });
    const bad = await h.api('GET', `${base}/wf-api/triggers/cron_1/fires?outcome=lost`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('SCHED_VALIDATION');
  });

  it('overlap skip: a tick is skipped while the previous execution runs, recorded with the reason', async () => {
    await clock.setTime('2026-05-04T10:05:50Z');
    await deployCron(h, 'wf-overlap', {
      cron_expression: '* * * * *',
      jitter_seconds: 0,
      overlap_policy: 'skip',
    });
    await clock.setTime('2026-05-04T10:06:00Z');
    await h.until(() => engineFires(h, 'wf-overlap').length === 1);
    await h.until(async () => (await fireRows(h, 'wf-overlap'))[0]?.outcome === 'fired');
    await h.until(async () => {
      const r = await h.api('GET', `${base}/wf-overlap/triggers/cron_1`);
      return r.json().details.schedule.last_fires[0]?.dispatch?.status === 'succeeded';
    });
    // The stub engine keeps executions RUNNING until told otherwise.
    await clock.setTime('2026-05-04T10:07:00Z');
    await h.until(async () => (await fireRows(h, 'wf-overlap')).length === 2);
    await h.until(async () => (await fireRows(h, 'wf-overlap'))[1]?.outcome === 'skipped');
    const rows = await fireRows(h, 'wf-overlap');
    expect(rows[1]!.reason).toMatch(/^overlap: the previous execution .+ is RUNNING$/);
    expect(engineFires(h, 'wf-overlap')).toHaveLength(1);

    for (const e of h.engine.executions.values()) if (e.workflowId === 'wf-overlap') e.status = 'SUCCESS';
    await clock.setTime('2026-05-04T10:08:00Z');
    await h.until(() => engineFires(h, 'wf-overlap').length === 2);
    const d = await h.api('GET', `${base}/wf-overlap/triggers/cron_1`);
    expect(d.json().details.schedule.counters).toMatchObject({ fired: 2, skipped: 1 });
  });

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of ['', '/pause', '/resume', '/run', '/fires'])
      expect(doc.paths[`/api/v1/triggers/workflows/{workflow_id}/triggers/{node_id}${p}`]).toBeDefined();
    const describe = doc.paths['/api/v1/triggers/workflows/{workflow_id}/triggers/{node_id}'].get;
    const schema = describe.responses['200'].content['application/json'].schema;
    expect(
      schema.properties.details.properties.schedule.properties.last_fires.items.properties.outcome.enum,
    ).toContain('missed');
  });
});
