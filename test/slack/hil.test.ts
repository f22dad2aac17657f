import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';
import {
  APP,
  BOT_ID,
  BOT_USER,
  blockActions,
  envelope,
  GENERAL,
  interactiveBody,
  SECRET,
  signed,
  TEAM_A,
  threadReply,
} from './helpers/envelopes.js';
import { FakeSlackApi } from './helpers/slackApi.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read loosely in assertions
type Json = Record<string, any>;

/**
 * Human in the loop over Slack, end to end: executions wait for answers in threads or on buttons, and the
 * scheduler resumes exactly the execution each answer belongs to.
 */
describe('Slack answers resume the right execution', () => {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const nowS = () => Math.floor(clock.now() / 1000);
  const slack = new FakeSlackApi();
  let h: Harness;
  let eventSeq = 0;

  const deploy = async (id: string, mode: string, extra: Record<string, unknown> = {}) => {
    const spec = workflowSpec(
      id,
      [
        {
          id: 'slack_1',
          subtype: 'SLACK',
          configurations: { channels: ['general'], resume_mode: mode, ...extra },
        },
      ],
      {
        createdBy: 'user-a',
      },
    );
    const r = await h.api(
      'POST',
      `/api/v1/deployment/workflows/${id}/deploy`,
      { workflow_spec: spec },
      'user-a',
    );
    expect(r.statusCode, r.body).toBe(200);
  };
  /** A reply in a thread; returns the stored event's dispatch once it finished. */
  const reply = async (threadTs: string, text: string) => {
    const env = envelope(
      threadReply({
        thread_ts: threadTs,
        ts: `${threadTs.split('.')[0]}.9${String(++eventSeq).padStart(5, '0')}`,
        text,
      }),
      {
        eventId: `Ev0HIL${String(eventSeq).padStart(6, '0')}`,
      },
    );
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/events',
      ...signed(JSON.stringify(env), nowS()),
    });
    expect(r.statusCode, r.body).toBe(200);
    return finished(r.json().event_id);
  };
  const finished = (eventId: string): Promise<Json> =>
    h.until(async () => {
      await clock.advance(100);
      const ev = (await h.api('GET', `/api/v1/events/${eventId}`, undefined, null)).json();
      const d = ev.dispatches?.[0];
      return d && (d.status === 'succeeded' || d.status === 'dead') ? d : null;
    });
  const waitFor = (executionId: string, match: Json, expiresInS = 3600, interaction = `ask-${executionId}`) =>
    h.api(
      'POST',
      '/api/v1/hil/waits',
      {
        execution_id: executionId,
        workflow_id: 'wf-hil',
        interaction_id: interaction,
        kind: 'SLACK',
        match,
        expires_at: new Date(clock.now() + expiresInS * 1000).toISOString(),
      },
      null,
    );

  beforeAll(async () => {
    await slack.start();
    slack.addWorkspace('xoxb-a', {
      teamId: TEAM_A,
      team: 'Acme',
      botUserId: BOT_USER,
      botId: BOT_ID,
      channels: [{ id: GENERAL, name: 'general' }],
    });
    h = await startHarness({
      clock,
      engine: { resume: 'supported' },
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_APP_ID: APP,
        SLACK_API_URL: slack.url,
        CREDENTIALS_KEY: 'b'.repeat(64),
      },
    });
    expect(
      (await h.api('PUT', '/api/v1/integrations/slack', { access_token: 'xoxb-a' }, 'user-a')).statusCode,
    ).toBe(201);
    await deploy('wf-hil', 'correlated', { events: ['message', 'block_actions'] });
  });
  afterAll(async () => {
    await h?.close();
    await slack.stop();
  });

  it('resumes each of two waiting executions from the reply in its own thread, once', async () => {
    const e1 = h.engine.addExecution('wf-hil', 'WAITING_FOR_HUMAN', clock.now() - 2000);
    const e2 = h.engine.addExecution('wf-hil', 'WAITING_FOR_HUMAN', clock.now() - 1000);
    expect((await waitFor(e1.id, { channel_id: GENERAL, thread_ts: '1767000001.000100' })).statusCode).toBe(
      201,
    );
    expect((await waitFor(e2.id, { channel_id: GENERAL, thread_ts: '1767000002.000100' })).statusCode).toBe(
      201,
    );

    const d1 = await reply('1767000001.000100', 'approve the first');
    expect(d1).toMatchObject({ status: 'succeeded', resumed: true, execution_id: e1.id });
    expect(e1.resumes).toHaveLength(1);
    expect(e1.resumes[0]).toMatchObject({
      interaction_id: `ask-${e1.id}`,
      resume_data: { text: 'approve the first', thread_ts: '1767000001.000100' },
    });
    expect(e2.resumes).toHaveLength(0);

    const d2 = await reply('1767000002.000100', 'approve the second');
    expect(d2).toMatchObject({ resumed: true, execution_id: e2.id });
    expect(e2.resumes).toHaveLength(1);

    // A second reply in an answered thread resumes nothing: it starts a new execution.
    const again = await reply('1767000001.000100', 'and again');
    expect(again.resumed).toBe(false);
    expect(e1.resumes).toHaveLength(1);
  });

  it('resumes from a reply that arrived 2 s before its wait was registered', async () => {
    const e3 = h.engine.addExecution('wf-hil', 'WAITING_FOR_HUMAN', clock.now());
    const early = await reply('1767000003.000100', 'already answered');
    expect(early.resumed).toBe(false);
    await clock.advance(2000);
    const r = await waitFor(e3.id, { channel_id: GENERAL, thread_ts: '1767000003.000100' });
    expect(r.statusCode, r.body).toBe(201);
    await h.until(async () => {
      await clock.advance(100);
      return e3.resumes.length === 1;
    });
    expect(e3.resumes[0]).toMatchObject({ resume_data: { text: 'already answered' } });
  });

  it('does not resume from an expired wait', async () => {
    const e4 = h.engine.addExecution('wf-hil', 'WAITING_FOR_HUMAN', clock.now());
    expect(
      (await waitFor(e4.id, { channel_id: GENERAL, thread_ts: '1767000004.000100' }, 1)).statusCode,
    ).toBe(201);
    await clock.advance(2000);
    const late = await reply('1767000004.000100', 'too late');
    expect(late.resumed).toBe(false);
    expect(e4.resumes).toHaveLength(0);
    const waits = (await h.api('GET', '/api/v1/hil/waits?workflow_id=wf-hil', undefined, null)).json();
    const w = (waits.waits as Json[]).find((x) => x.execution_id === e4.id);
    expect(w?.status).toBe('expired');
  });

  it('resumes the execution waiting on a button from its block_actions click', async () => {
    const e5 = h.engine.addExecution('wf-hil', 'WAITING_FOR_HUMAN', clock.now());
    expect(
      (await waitFor(e5.id, { 'actions.action_id': 'approve_e5', 'actions.value': 'yes' })).statusCode,
    ).toBe(201);
    const click = blockActions({ actionId: 'approve_e5', value: 'yes' });
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/interactive',
      ...signed(interactiveBody(click), nowS(), {}, 'application/x-www-form-urlencoded'),
    });
    expect(r.statusCode, r.body).toBe(200);
    const eventId = r.headers['x-scheduler-event-id'] as string;
    const d = await finished(eventId);
    expect(d).toMatchObject({ resumed: true, execution_id: e5.id });
  });

  it('latest mode resumes the most recent waiting execution; never always executes', async () => {
    await deploy('wf-latest', 'latest');
    await deploy('wf-never', 'never');
    const old = h.engine.addExecution('wf-latest', 'WAITING_FOR_HUMAN', clock.now() - 5000);
    const recent = h.engine.addExecution('wf-latest', 'WAITING_FOR_HUMAN', clock.now() - 1000);
    const waiting = h.engine.addExecution('wf-never', 'WAITING_FOR_HUMAN', clock.now());
    const env = envelope(threadReply({ thread_ts: '1767000009.000100', ts: '1767000009.000900' }), {
      eventId: 'Ev0HILLATEST1',
    });
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/events',
      ...signed(JSON.stringify(env), nowS()),
    });
    const ev = (await h.api('GET', `/api/v1/events/${r.json().event_id}`, undefined, null)).json();
    const byWf = async (wf: string) => {
      const id = (ev.dispatches as Json[]).find((d) => d.workflow_id === wf)?.id;
      return h.until(async () => {
        await clock.advance(100);
        const d = (await h.api('GET', `/api/v1/dispatches/${id}`, undefined, null)).json();
        return d.status === 'succeeded' ? d : null;
      });
    };
    expect(await byWf('wf-latest')).toMatchObject({ resumed: true, execution_id: recent.id });
    expect(old.resumes).toHaveLength(0);
    expect((await byWf('wf-never')).resumed).toBe(false);
    expect(waiting.resumes).toHaveLength(0);
  });
});
