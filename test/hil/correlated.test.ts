import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import {
  deployHook,
  dispatchOf,
  finished,
  inAnHour,
  type Json,
  post,
  register,
  waitById,
} from './helpers.js';

/**
 * Correlated resume end to end over HTTP: WEBHOOK triggers in resume_mode correlated, bodies shaped like
 * Slack's trigger_data (channel_id, thread_ts, actions[]), the stand-in engine with resume support.
 */
describe('human in the loop: correlated resume', () => {
  const clock = new ManualClock('2026-03-01T09:00:00Z');
  let h: Harness;
  const thread = (ts: string, text = 'approve') => ({ channel_id: 'C1', thread_ts: ts, text, user_id: 'U9' });
  const resumesOf = (id: string) => h.engine.executions.get(id)?.resumes ?? [];
  const waiting = (wf: string, startTime = clock.now()) =>
    h.engine.addExecution(wf, 'WAITING_FOR_HUMAN', startTime);
  const threadWait = (wf: string, executionId: string, ts: string, extra: Json = {}) =>
    register(h, {
      execution_id: executionId,
      workflow_id: wf,
      interaction_id: `q-${ts}`,
      kind: 'WEBHOOK',
      match: { 'body.channel_id': 'C1', 'body.thread_ts': ts },
      expires_at: inAnHour(clock),
      ...extra,
    });

  beforeAll(async () => {
    h = await startHarness({
      clock,
      engine: { resume: 'supported' },
      env: { DISPATCH_POLL_INTERVAL_MS: '500' },
    });
    await deployHook(h, 'wf-threads', 'threads', 'correlated');
    await deployHook(h, 'wf-look', 'look', 'correlated');
    await deployHook(h, 'wf-exp', 'exp', 'correlated');
    await deployHook(h, 'wf-latest', 'latest', 'latest');
    await deployHook(h, 'wf-never', 'never', 'never');
    await deployHook(h, 'wf-race', 'race', 'correlated');
    await deployHook(h, 'wf-down', 'down', 'correlated');
    await deployHook(h, 'wf-404', 'nf', 'correlated');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('two executions waiting in two threads: each reply resumes its own, exactly once', async () => {
    const first = waiting('wf-threads', clock.now() - 60_000);
    const second = waiting('wf-threads', clock.now() - 1_000); // the most recent: 'latest' would pick it
    const w1 = await threadWait('wf-threads', first.id, '1700000000.000100');
    const w2 = await threadWait('wf-threads', second.id, '1700000000.000200');
    expect(w1.statusCode, w1.body).toBe(201);
    expect(w1.json()).toMatchObject({
      created: true,
      warnings: [],
      wait: { status: 'open', satisfied_by: null },
    });

    const e1 = await post(h, 'threads', thread('1700000000.000100', 'yes, ship it'));
    const d1 = await finished(h, clock, e1);
    expect(d1).toMatchObject({
      status: 'succeeded',
      resumed: true,
      execution_id: first.id,
      resume_outcome: 'resumed',
    });
    expect(resumesOf(first.id)).toEqual([
      expect.objectContaining({
        resume_data: expect.objectContaining({ body: thread('1700000000.000100', 'yes, ship it') }),
        interaction_id: 'q-1700000000.000100',
      }),
    ]);
    expect(resumesOf(second.id)).toHaveLength(0);

    const e2 = await post(h, 'threads', thread('1700000000.000200', 'no'));
    expect(await finished(h, clock, e2)).toMatchObject({ resumed: true, execution_id: second.id });
    expect(resumesOf(second.id)).toEqual([
      expect.objectContaining({ interaction_id: 'q-1700000000.000200' }),
    ]);

    // A second reply in the first thread finds its wait closed: a new execution, no second resume.
    const e3 = await post(h, 'threads', thread('1700000000.000100', 'again'));
    const d3 = await finished(h, clock, e3);
    expect(d3.resumed).toBe(false);
    expect(d3.execution_id).not.toBe(first.id);
    expect(resumesOf(first.id)).toHaveLength(1);
    // The same delivery again (a sender's retry) is a duplicate and does nothing.
    const again = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/threads',
      headers: { 'content-type': 'application/json', 'webhook-id': 'm-1' },
      payload: JSON.stringify(thread('1700000000.000100')),
    });
    expect(again.statusCode).toBe(202);

    const list = (await h.api('GET', '/api/v1/hil/waits?workflow_id=wf-threads', undefined, null)).json()
      .waits;
    expect(list).toHaveLength(2);
    const byId = new Map<string, Json>(list.map((w: Json) => [w.id, w]));
    expect(byId.get(w1.json().wait.id)).toMatchObject({
      status: 'satisfied',
      execution_id: first.id,
      satisfied_by: { event_id: e1, dispatch_id: d1.id, source: 'live', dispatch_status: 'succeeded' },
    });
    expect(byId.get(w2.json().wait.id)).toMatchObject({
      status: 'satisfied',
      satisfied_by: { event_id: e2 },
    });
    expect(h.engine.duplicateKeys()).toEqual([]);
  });

  it('matches Slack-button-shaped answers and headers: any element of an array', async () => {
    const exec = waiting('wf-threads');
    const w = await register(h, {
      execution_id: exec.id,
      workflow_id: 'wf-threads',
      interaction_id: 'approval-42',
      kind: 'webhook',
      match: { 'body.actions.action_id': 'approve_42', 'headers.x-ticket': 42 },
      expires_at: inAnHour(clock),
    });
    expect(w.json().wait.kind).toBe('WEBHOOK');
    const buttons = { actions: [{ action_id: 'reject_42' }, { action_id: 'approve_42', value: 'yes' }] };
    const wrongTicket = await post(h, 'threads', buttons, { 'x-ticket': '43' });
    expect((await finished(h, clock, wrongTicket)).resumed).toBe(false);
    const right = await post(h, 'threads', buttons, { 'x-ticket': '42' });
    expect(await finished(h, clock, right)).toMatchObject({ resumed: true, execution_id: exec.id });
    expect(resumesOf(exec.id)).toEqual([expect.objectContaining({ interaction_id: 'approval-42' })]);
  });

  it('a reply that arrives 2 s before its wait is registered still resumes it (lookback)', async () => {
    const exec = waiting('wf-look');
    const early = await post(h, 'look', thread('1700000001.000100', 'approved already'));
    const ran = await finished(h, clock, early);
    // Nothing waited yet: it ran as a new execution, and is remembered.
    expect(ran).toMatchObject({ status: 'succeeded', resumed: false });
    await clock.advance(2_000);

    const r = await threadWait('wf-look', exec.id, '1700000001.000100');
    expect(r.statusCode, r.body).toBe(201);
    const wait = r.json().wait;
    expect(wait).toMatchObject({
      status: 'resuming',
      satisfied_by: { event_id: early, source: 'lookback', source_dispatch_id: ran.id },
    });
    // The wait closes when the engine accepts; the dispatch's outcome is written a moment later.
    const done = await h.until(async () => {
      await clock.advance(100);
      const w = await waitById(h, wait.id);
      return w.status === 'satisfied' && w.satisfied_by.dispatch_status === 'succeeded' ? w : null;
    });
    expect(resumesOf(exec.id)).toEqual([
      expect.objectContaining({
        resume_data: expect.objectContaining({ body: thread('1700000001.000100', 'approved already') }),
        interaction_id: 'q-1700000001.000100',
      }),
    ]);
    // The resume went through the outbox as a dispatch of its own, visible with its copy of the event.
    const resume = (
      await h.api('GET', `/api/v1/dispatches/${done.satisfied_by.dispatch_id}`, undefined, null)
    ).json();
    expect(resume).toMatchObject({ status: 'succeeded', resumed: true, execution_id: exec.id });
    const copy = (await h.api('GET', `/api/v1/events/${resume.event_id}`, undefined, null)).json();
    expect(copy.meta.hil_lookback).toEqual({
      wait_id: wait.id,
      source_event_id: early,
      source_dispatch_id: ran.id,
    });

    // An answer satisfies one wait: a second wait with the same match stays open.
    const other = waiting('wf-look');
    const second = await threadWait('wf-look', other.id, '1700000001.000100');
    expect(second.json().wait.status).toBe('open');
    expect(resumesOf(other.id)).toHaveLength(0);
  });

  it('lookback is bounded: by HIL_LOOKBACK_SECONDS, by asked_at, and never by the run that started the execution', async () => {
    const old = await post(h, 'look', thread('1700000002.000100'));
    await finished(h, clock, old);
    await clock.advance(301_000);
    const exec = waiting('wf-look');
    const late = await threadWait('wf-look', exec.id, '1700000002.000100');
    expect(late.json().wait.status).toBe('open');

    const before = await post(h, 'look', thread('1700000003.000100'));
    await finished(h, clock, before);
    await clock.advance(1_000);
    const asked = await threadWait('wf-look', waiting('wf-look').id, '1700000003.000100', {
      asked_at: new Date(clock.now() - 500).toISOString(),
    });
    expect(asked.json().wait.status).toBe('open');

    // The event that started an execution is never taken as that execution's answer.
    const starter = await post(h, 'look', thread('1700000004.000100'));
    const started = await finished(h, clock, starter);
    const self = await threadWait('wf-look', started.execution_id, '1700000004.000100');
    expect(self.json().wait.status).toBe('open');
  });

  it('an expired wait is closed, visible, and never satisfied', async () => {
    const exec = waiting('wf-exp');
    const r = await threadWait('wf-exp', exec.id, '1700000005.000100', {
      expires_at: new Date(clock.now() + 60_000).toISOString(),
    });
    const id = r.json().wait.id;
    await clock.advance(61_000);
    await h.services.hil.sweep();
    const w = await waitById(h, id);
    expect(w).toMatchObject({
      status: 'expired',
      closed_at: new Date(Date.parse(w.expires_at)).toISOString(),
    });
    const listed = (
      await h.api('GET', '/api/v1/hil/waits?workflow_id=wf-exp&status=expired', undefined, null)
    ).json();
    expect(listed.waits.map((x: Json) => x.id)).toEqual([id]);

    const reply = await post(h, 'exp', thread('1700000005.000100'));
    const d = await finished(h, clock, reply);
    expect(d.resumed).toBe(false);
    expect(resumesOf(exec.id)).toHaveLength(0);
    expect((await waitById(h, id)).status).toBe('expired');
  });

  it('correlated mode never falls back to the most recent waiting execution', async () => {
    const exec = waiting('wf-exp');
    const d = await finished(h, clock, await post(h, 'exp', thread('1700000006.000100')));
    expect(d).toMatchObject({ status: 'succeeded', resumed: false, resume_mode: 'correlated' });
    expect(resumesOf(exec.id)).toHaveLength(0);
  });

  it('latest mode resumes the most recent waiting execution; waits play no part', async () => {
    const older = waiting('wf-latest', clock.now() - 30_000);
    const newer = waiting('wf-latest', clock.now() - 5_000);
    await threadWait('wf-latest', older.id, '1700000007.000100');
    const d = await finished(h, clock, await post(h, 'latest', thread('1700000007.000100')));
    expect(d).toMatchObject({ resumed: true, execution_id: newer.id, resume_mode: 'latest' });
    expect(resumesOf(newer.id)).toEqual([expect.objectContaining({ interaction_id: null })]);
    expect(resumesOf(older.id)).toHaveLength(0);
  });

  it('never mode always executes, even with a matching wait and waiting executions', async () => {
    const exec = waiting('wf-never');
    const w = await threadWait('wf-never', exec.id, '1700000008.000100');
    expect(w.json().warnings[0]).toMatch(/no deployed WEBHOOK trigger with resume_mode "correlated"/);
    const d = await finished(h, clock, await post(h, 'never', thread('1700000008.000100')));
    expect(d).toMatchObject({ status: 'succeeded', resumed: false, resume_mode: 'never' });
    expect(resumesOf(exec.id)).toHaveLength(0);
    expect((await waitById(h, w.json().wait.id)).status).toBe('open');
  });

  it('two racing replies for one wait: one resume and one new execution', async () => {
    const exec = waiting('wf-race');
    const w = await threadWait('wf-race', exec.id, '1700000009.000100');
    const [a, b] = await Promise.all([
      post(h, 'race', thread('1700000009.000100', 'first')),
      post(h, 'race', thread('1700000009.000100', 'second')),
    ]);
    const [da, db] = [await finished(h, clock, a), await finished(h, clock, b)];
    const resumed = [da, db].filter((d) => d.resumed);
    const executed = [da, db].filter((d) => !d.resumed);
    expect(resumed).toHaveLength(1);
    expect(executed).toHaveLength(1);
    expect(resumed[0]!.execution_id).toBe(exec.id);
    expect(executed[0]!.execution_id).not.toBe(exec.id);
    expect(resumesOf(exec.id)).toHaveLength(1);
    expect((await waitById(h, w.json().wait.id)).satisfied_by.dispatch_id).toBe(resumed[0]!.id);
  });

  it('no answer is lost when replies and registrations interleave (each wait resumed exactly once)', async () => {
    const pairs = Array.from({ length: 30 }, (_, i) => ({
      exec: waiting('wf-race'),
      ts: `1700000100.${1000 + i}`,
    }));
    const results = await Promise.all(
      pairs.flatMap(({ exec, ts }) => [post(h, 'race', thread(ts)), threadWait('wf-race', exec.id, ts)]),
    );
    const waitIds = results.filter((r) => typeof r !== 'string').map((r) => r.json().wait.id as string);
    expect(waitIds).toHaveLength(30);
    await h.until(async () => {
      await clock.advance(100);
      const ws = await Promise.all(waitIds.map((id) => waitById(h, id)));
      return ws.every((w) => w.status === 'satisfied');
    });
    for (const { exec } of pairs) expect(resumesOf(exec.id)).toHaveLength(1);
  });

  it('a retried dispatch keeps its claim: engine down while a live answer resumes', async () => {
    const exec = waiting('wf-down');
    const w = (await threadWait('wf-down', exec.id, '1700000010.000100')).json().wait;
    const port = Number(new URL(h.engine.url).port);
    await h.engine.stop();
    let up = false;
    try {
      const e = await post(h, 'down', thread('1700000010.000100'));
      const failing = await h.until(async () => {
        const d = await dispatchOf(h, e);
        return d.status === 'pending' && d.last_error ? d : null;
      });
      expect(failing).toMatchObject({ status: 'pending', last_error: { code: 'SCHED_ENGINE_UNREACHABLE' } });
      expect(await waitById(h, w.id)).toMatchObject({
        status: 'resuming',
        satisfied_by: { dispatch_id: failing.id },
      });
      await clock.advance(1_000); // a retry or two while still down
      await h.engine.start(port);
      up = true;
      const d = await finished(h, clock, e);
      expect(d).toMatchObject({ status: 'succeeded', resumed: true, execution_id: exec.id });
      expect(resumesOf(exec.id)).toHaveLength(1);
      expect((await waitById(h, w.id)).status).toBe('satisfied');
    } finally {
      if (!up) await h.engine.start(port);
    }
  });

  it('engine down during a lookback resume: delivered later, exactly once', async () => {
    const exec = waiting('wf-down');
    const early = await post(h, 'down', thread('1700000011.000100'));
    const ran = await finished(h, clock, early);
    const port = Number(new URL(h.engine.url).port);
    await h.engine.stop();
    let up = false;
    try {
      await clock.advance(2_000);
      const w = (await threadWait('wf-down', exec.id, '1700000011.000100')).json().wait;
      expect(w).toMatchObject({
        status: 'resuming',
        satisfied_by: { source: 'lookback', source_dispatch_id: ran.id },
      });
      const resumeId = w.satisfied_by.dispatch_id;
      const failing = await h.until(async () => {
        await clock.advance(100);
        const d = (await h.api('GET', `/api/v1/dispatches/${resumeId}`, undefined, null)).json();
        return d.attempts >= 2 && d.status === 'pending' && d.last_error ? d : null;
      });
      expect(failing).toMatchObject({ status: 'pending', last_error: { code: 'SCHED_ENGINE_UNREACHABLE' } });
      expect(resumesOf(exec.id)).toHaveLength(0);
      await h.engine.start(port);
      up = true;
      const done = await h.until(async () => {
        await clock.advance(100);
        const d = (await h.api('GET', `/api/v1/dispatches/${resumeId}`, undefined, null)).json();
        return d.status === 'succeeded' ? d : null;
      });
      expect(done).toMatchObject({ resumed: true, execution_id: exec.id });
      await clock.advance(5_000);
      await h.services.hil.sweep();
      expect(resumesOf(exec.id)).toHaveLength(1);
      expect(
        h.engine.calls.filter((c) => c.path.endsWith('/resume') && c.idempotencyKey === resumeId),
      ).toHaveLength(1);
      expect((await waitById(h, w.id)).status).toBe('satisfied');
    } finally {
      if (!up) await h.engine.start(port);
    }
  });

  it('an engine 404 to a correlated resume is dead with its own code; the wait says failed; replay resumes', async () => {
    const exec = waiting('wf-404');
    const w = (await threadWait('wf-404', exec.id, '1700000012.000100')).json().wait;
    h.engine.behaviour.resume = 'unsupported';
    try {
      const executesBefore = h.engine.executeCalls().length;
      const e = await post(h, 'nf', thread('1700000012.000100'));
      const d = await finished(h, clock, e);
      expect(d).toMatchObject({
        status: 'dead',
        attempts: 1,
        resumed: false,
        execution_id: null,
        resume_outcome: 'SCHED_HIL_RESUME_NOT_FOUND',
        last_error: { code: 'SCHED_HIL_RESUME_NOT_FOUND', http_status: 404 },
      });
      expect(h.engine.executeCalls().length).toBe(executesBefore); // never silently a fresh execution
      expect(await waitById(h, w.id)).toMatchObject({
        status: 'failed',
        last_error: { code: 'SCHED_HIL_RESUME_NOT_FOUND' },
        satisfied_by: { dispatch_id: d.id },
      });
      h.engine.behaviour.resume = 'supported';
      expect((await h.api('POST', `/api/v1/dispatches/${d.id}/replay`, undefined, null)).statusCode).toBe(
        200,
      );
      expect(await finished(h, clock, e)).toMatchObject({
        status: 'succeeded',
        resumed: true,
        execution_id: exec.id,
      });
      expect(await waitById(h, w.id)).toMatchObject({ status: 'satisfied', last_error: null });
      expect(resumesOf(exec.id)).toHaveLength(1);
    } finally {
      h.engine.behaviour.resume = 'supported';
    }
  });
});
