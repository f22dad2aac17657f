import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { interceptQueries } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

/** A manual run requested with an Idempotency-Key, as a client retrying a click would send it. */
const runWithKey = (h: Harness, workflowId: string, key: string) =>
  h.inject({
    method: 'POST',
    url: `/api/v1/triggers/workflows/${workflowId}/manual`,
    headers: { 'x-user-id': 'user-1', 'idempotency-key': key, 'content-type': 'application/json' },
    payload: '{}',
  });

describe('MANUAL triggers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MANUAL_WAIT_MS: '500' } });
    const deploy = async (id: string, triggers: Parameters<typeof workflowSpec>[1]) => {
      const r = await h.api('POST', `/api/v1/deployment/workflows/${id}/deploy`, {
        workflow_spec: workflowSpec(id, triggers),
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    await deploy('wf-man', [
      { id: 'run', subtype: 'MANUAL' },
      { id: 'hook', subtype: 'WEBHOOK' },
    ]);
    await deploy('wf-two', [
      { id: 'a', subtype: 'MANUAL' },
      { id: 'b', subtype: 'MANUAL' },
    ]);
    await deploy('wf-hook-only', [{ id: 'hook', subtype: 'WEBHOOK' }]);
    await deploy('wf-paused', [{ id: 'run', subtype: 'MANUAL', configurations: { enabled: false } }]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('returns the engine execution id and calls the engine per the contract', async () => {
    const r = await h.api('POST', '/api/v1/triggers/workflows/wf-man/manual', {
      input_data: { n: 1, nested: { ok: true } },
    });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ workflow_id: 'wf-man', status: 'RUNNING' });
    const call = h.engine
      .executeCalls()
      .find((c) => (c.body as { trigger_data: { input_data?: unknown } }).trigger_data.input_data);
    expect(call?.path).toBe('/v2/workflows/wf-man/execute');
    expect(call?.idempotencyKey).toBe(body.dispatch_id);
    expect(call?.body).toMatchObject({
      workflow_id: 'wf-man',
      user_id: 'user-1',
      async_execution: true,
      start_from_node: 'run',
      trigger: { trigger_type: 'MANUAL' },
      trigger_data: { trigger_type: 'MANUAL', user_id: 'user-1', input_data: { n: 1, nested: { ok: true } } },
    });
    expect(h.engine.executions.get(body.execution_id)?.workflowId).toBe('wf-man');
  });

  it('answers 202 with the dispatch id when the engine is slow, and delivers later', async () => {
    h.engine.behaviour.delayMs = 1500;
    try {
      const r = await h.api('POST', '/api/v1/triggers/workflows/wf-man/manual', {});
      expect(r.statusCode, r.body).toBe(202);
      const { dispatch_id } = r.json();
      expect(r.json()).toMatchObject({ status: 'pending', execution_id: null });
      const d = await h.until(async () => {
        const x = (await h.api('GET', `/api/v1/dispatches/${dispatch_id}`)).json();
        return x.status === 'succeeded' ? x : null;
      });
      expect(d.execution_id).toBeTruthy();
    } finally {
      h.engine.behaviour.delayMs = 0;
    }
  });

  it('dedupes a retried request with the same Idempotency-Key', async () => {
    const send = () => runWithKey(h, 'wf-man', 'click-42');
    const first = await send();
    const second = await send();
    expect(second.json().event_id).toBe(first.json().event_id);
    expect(second.json().execution_id).toBe(first.json().execution_id);
  });

  it.each([
    ['unknown workflow', 'wf-none', undefined, 404, 'SCHED_WORKFLOW_NOT_FOUND'],
    ['no manual trigger', 'wf-hook-only', undefined, 404, 'SCHED_NO_MANUAL_TRIGGER'],
    ['paused trigger', 'wf-paused', undefined, 409, 'SCHED_TRIGGER_DISABLED'],
    ['ambiguous', 'wf-two', undefined, 400, 'SCHED_AMBIGUOUS_TRIGGER'],
    ['unknown node', 'wf-two', 'zz', 404, 'SCHED_TRIGGER_NOT_FOUND'],
  ])('refuses: %s', async (_n, wf, node, status, code) => {
    const r = await h.api(
      'POST',
      `/api/v1/triggers/workflows/${wf}/manual`,
      node ? { trigger_node_id: node } : {},
    );
    expect(r.statusCode, r.body).toBe(status);
    expect(r.json().code).toBe(code);
  });

  it('fires the named trigger of several, and refuses an undeployed workflow', async () => {
    const r = await h.api('POST', '/api/v1/triggers/workflows/wf-two/manual', { trigger_node_id: 'b' });
    expect(r.statusCode).toBe(200);
    await h.api('DELETE', '/api/v1/deployment/workflows/wf-two/undeploy');
    const after = await h.api('POST', '/api/v1/triggers/workflows/wf-two/manual', { trigger_node_id: 'b' });
    expect(after.statusCode).toBe(409);
    expect(after.json().code).toBe('SCHED_WORKFLOW_NOT_DEPLOYED');
  });

  it("hides other users' workflows", async () => {
    const r = await h.api('POST', '/api/v1/triggers/workflows/wf-man/manual', {}, 'intruder');
    expect(r.statusCode).toBe(404);
  });

  it('rejects unknown body fields', async () => {
    const r = await h.api('POST', '/api/v1/triggers/workflows/wf-man/manual', { inputs: {} });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'SCHED_VALIDATION', details: { field: 'body.inputs' } });
  });
});

/**
 * A retried manual request answered while the first run's outcome is not yet written (the row still says
 * in_flight): it must return the same execution, not an empty 202. Outcome writes are held to make that
 * moment last.
 */
describe('MANUAL triggers: a retry before the first outcome is written', () => {
  let h: Harness;
  let hold: Promise<void> | null = null;
  let release = () => {};
  beforeAll(async () => {
    h = await startHarness({
      env: { MANUAL_WAIT_MS: '2000' },
      wrapDb: (db) =>
        interceptQueries(db, async (q, text, params) => {
          if (typeof text !== 'string' && text.name === 'dispatch_complete' && hold) await hold;
          return q.query(text, params);
        }),
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-held/deploy', {
      workflow_spec: workflowSpec('wf-held', [{ id: 'run', subtype: 'MANUAL' }]),
    });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    release();
    await h?.close();
  });

  it("returns the first run's execution id", async () => {
    hold = new Promise((r) => {
      release = r;
    });
    const send = () => runWithKey(h, 'wf-held', 'click-7');
    const first = await send();
    expect(first.statusCode, first.body).toBe(200);
    const second = await send();
    hold = null;
    release();
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({
      event_id: first.json().event_id,
      execution_id: first.json().execution_id,
    });
    expect(h.engine.executeCalls()).toHaveLength(1);
  });
});
