import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

describe('dispatch to the engine', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { DISPATCH_MAX_ATTEMPTS: '3', MANUAL_WAIT_MS: '300' } });
    for (const [id, triggers] of [
      ['wf-d', [{ id: 'hook', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/d' } }]],
      [
        'wf-never',
        [
          {
            id: 'hook',
            subtype: 'WEBHOOK',
            configurations: { webhook_path: '/webhook/never', resume_mode: 'never' },
          },
          { id: 'm', subtype: 'MANUAL' },
        ],
      ],
    ] as const) {
      const r = await h.api('POST', `/api/v1/deployment/workflows/${id}/deploy`, {
        workflow_spec: workflowSpec(id, [...triggers]),
      });
      expect(r.statusCode, r.body).toBe(200);
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  const fire = async (path = 'd', body: unknown = { x: 1 }) => {
    const r = await h.inject({
      method: 'POST',
      url: `/api/v1/public/webhook/${path}`,
      payload: body as object,
    });
    expect(r.statusCode, r.body).toBe(202);
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json();
    return ev.dispatches[0].id as string;
  };
  const settled = (id: string, status: string) =>
    h.until(async () => {
      const d = (await h.api('GET', `/api/v1/dispatches/${id}`)).json();
      return d.status === status ? d : null;
    });

  it.each([
    ['HTTP 200 with success:false', { successFalse: true }, 'SCHED_ENGINE_EXECUTION_FAILED'],
    ['HTTP 503', { executeStatus: 503 }, 'SCHED_ENGINE_SERVER_ERROR'],
    ['HTTP 408', { executeStatus: 408 }, 'SCHED_ENGINE_TIMEOUT'],
    ['HTTP 429', { executeStatus: 429 }, 'SCHED_ENGINE_RATE_LIMITED'],
  ])('retries %s with back-off, then succeeds', async (_name, behaviour, code) => {
    Object.assign(h.engine.behaviour, behaviour);
    const id = await fire();
    const pending = await h.until(async () => {
      const d = (await h.api('GET', `/api/v1/dispatches/${id}`)).json();
      return d.attempts >= 2 && d.status === 'pending' ? d : null;
    });
    expect(pending.last_error.code).toBe(code);
    expect(Date.parse(pending.next_attempt_at)).toBeGreaterThan(Date.parse(pending.updated_at) - 1);
    Object.assign(h.engine.behaviour, { successFalse: false, executeStatus: 200 });
    const done = await settled(id, 'succeeded');
    expect(done.execution_id).toBeTruthy();
    expect(done.last_error).toBeNull();
  });

  it('writes outcomes after a flush that found nothing to write', async () => {
    // A flush with nothing pending (a scheduled one whose rows an earlier flush took) used to leave a
    // settled promise as "the flush under way", and no outcome was written again.
    await h.services.dispatcher.flush();
    const id = await fire();
    await settled(id, 'succeeded');
    expect(h.services.dispatcher.stats()).toMatchObject({ unwritten: 0, writing: false });
  });

  it('retries network errors (engine unreachable)', async () => {
    const url = h.engine.url;
    await h.engine.stop();
    try {
      const id = await fire();
      const d = await h.until(async () => {
        const x = (await h.api('GET', `/api/v1/dispatches/${id}`)).json();
        return x.last_error ? x : null;
      });
      expect(d.last_error.code).toBe('SCHED_ENGINE_UNREACHABLE');
      await h.engine.start(Number(new URL(url).port));
      await settled(id, 'succeeded');
    } finally {
      if (!h.engine.url) await h.engine.start(Number(new URL(url).port));
    }
  });

  it('sends other 4xx straight to dead, lists and replays it', async () => {
    h.engine.behaviour.executeStatus = 422;
    const id = await fire();
    const dead = await settled(id, 'dead');
    expect(dead).toMatchObject({
      attempts: 1,
      last_error: { code: 'SCHED_ENGINE_REJECTED', http_status: 422 },
    });
    const list = (await h.api('GET', '/api/v1/dispatches?status=dead')).json().dispatches;
    expect(list.map((d: { id: string }) => d.id)).toContain(id);
    h.engine.behaviour.executeStatus = 200;
    const notDead = await h.api('POST', `/api/v1/dispatches/${await fire()}/replay`);
    expect(notDead.statusCode).toBe(409);
    expect(notDead.json().code).toBe('SCHED_DISPATCH_NOT_DEAD');
    const replay = await h.api('POST', `/api/v1/dispatches/${id}/replay`);
    expect(replay.json()).toEqual({ replayed: 1, dispatch_ids: [id] });
    const ok = await settled(id, 'succeeded');
    // The same idempotency key travels on the replay.
    expect(h.engine.executeCalls().filter((c) => c.idempotencyKey === id).length).toBeGreaterThanOrEqual(1);
    expect(ok.execution_id).toBeTruthy();
  });

  it('gives up after the maximum attempts, and bulk replay brings the dead back', async () => {
    h.engine.behaviour.executeStatus = 500;
    const id = await fire();
    const dead = await settled(id, 'dead');
    expect(dead.attempts).toBe(3);
    h.engine.behaviour.executeStatus = 200;
    const r = await h.api('POST', '/api/v1/dispatches/replay', { workflow_id: 'wf-d' });
    expect(r.json().dispatch_ids).toContain(id);
    await settled(id, 'succeeded');
  });

  it('sends trigger_data as JSON objects, never strings', async () => {
    const id = await fire('d', { nested: { list: [1, { a: null }], flag: false } });
    await settled(id, 'succeeded');
    const call = h.engine.executeCalls().find((c) => c.idempotencyKey === id)!;
    const td = (call.body as { trigger_data: { body: unknown } }).trigger_data;
    expect(td.body).toEqual({ nested: { list: [1, { a: null }], flag: false } });
  });

  describe('human in the loop (resume_mode latest)', () => {
    it('resumes the most recent waiting execution instead of starting one', async () => {
      h.engine.behaviour.resume = 'supported';
      const older = h.engine.addExecution('wf-d', 'WAITING_FOR_HUMAN', Date.now() - 60_000);
      const newer = h.engine.addExecution('wf-d', 'PAUSED', Date.now() - 1_000);
      h.engine.addExecution('wf-d', 'RUNNING', Date.now());
      const id = await fire('d', { answer: 'yes' });
      const d = await settled(id, 'succeeded');
      expect(d).toMatchObject({ resumed: true, execution_id: newer.id, resume_outcome: 'resumed' });
      expect(h.engine.executions.get(newer.id)?.resumes[0]).toMatchObject({
        resume_data: { body: { answer: 'yes' } },
        interaction_id: null,
      });
      expect(h.engine.executions.get(older.id)?.resumes).toHaveLength(0);
    });

    it('falls back to a new execution when the engine answers 404, and records it', async () => {
      h.engine.behaviour.resume = 'unsupported';
      h.engine.addExecution('wf-d', 'WAITING_FOR_HUMAN', Date.now());
      const id = await fire('d', { answer: 'no' });
      const d = await settled(id, 'succeeded');
      expect(d).toMatchObject({ resumed: false, resume_outcome: 'SCHED_RESUME_NOT_FOUND' });
      expect(h.engine.executions.get(d.execution_id)?.startFromNode).toBe('hook');
    });

    it('never resumes for resume_mode never or a manual run', async () => {
      h.engine.behaviour.resume = 'supported';
      const waiting = h.engine.addExecution('wf-never', 'WAITING_FOR_HUMAN', Date.now());
      const id = await fire('never');
      const d = await settled(id, 'succeeded');
      expect(d.resumed).toBe(false);
      const m = await h.api('POST', '/api/v1/triggers/workflows/wf-never/manual', {});
      expect(m.json().status).toBe('RUNNING');
      expect(h.engine.executions.get(waiting.id)?.status).toBe('WAITING_FOR_HUMAN');
      expect(
        h.engine.calls.filter((c) => c.path.endsWith('/executions') && c.path.includes('wf-never')),
      ).toHaveLength(0);
    });
  });

  it('lists events and dispatches by workflow, scoped to the owner', async () => {
    const mine = (await h.api('GET', '/api/v1/events?workflow_id=wf-d&limit=5')).json().events;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0].dispatches[0].workflow_id).toBe('wf-d');
    expect(
      (await h.api('GET', '/api/v1/events?workflow_id=wf-d', undefined, 'someone-else')).json().events,
    ).toHaveLength(0);
    expect((await h.api('GET', `/api/v1/events/${mine[0].id}`, undefined, 'someone-else')).statusCode).toBe(
      404,
    );
    expect(
      (await h.api('GET', `/api/v1/dispatches/${mine[0].dispatches[0].id}`, undefined, 'someone-else'))
        .statusCode,
    ).toBe(404);
  });
});
