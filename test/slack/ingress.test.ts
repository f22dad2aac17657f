import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/db.js';
import { listRateLimitNotices } from '../../src/triggers/slack/notices.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { interceptQueries } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';
import {
  APP,
  BOB,
  BOT_ID,
  BOT_USER,
  blockActions,
  envelope,
  GENERAL,
  interactiveBody,
  message,
  messageChanged,
  SECRET,
  signed,
  TEAM_A,
  TEAM_B,
  threadReply,
} from './helpers/envelopes.js';
import { FakeSlackApi } from './helpers/slackApi.js';

/** A database whose next INSERT INTO events fails (a storage failure injected at the seam, not a mock). */
function withFailureSwitch(db: Db): Db & { failNextEventInsert(): void } {
  let armed = false;
  const wrapped = interceptQueries(db, (q, text, params) => {
    if (armed && /INSERT INTO events\b/.test(typeof text === 'string' ? text : text.text)) {
      armed = false;
      return Promise.reject(new Error('injected storage failure'));
    }
    return q.query(text, params);
  });
  return Object.assign(wrapped, {
    failNextEventInsert: () => {
      armed = true;
    },
  });
}

describe('Slack events through the pipeline', () => {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const nowS = () => Math.floor(clock.now() / 1000);
  const slack = new FakeSlackApi();
  let db: ReturnType<typeof withFailureSwitch>;
  let h: Harness;

  const deploy = async (id: string, user: string, config: Record<string, unknown>) => {
    const r = await h.api(
      'POST',
      `/api/v1/deployment/workflows/${id}/deploy`,
      {
        workflow_spec: workflowSpec(id, [{ id: 'slack_1', subtype: 'SLACK', configurations: config }], {
          createdBy: user,
        }),
      },
      user,
    );
    expect(r.statusCode, r.body).toBe(200);
  };
  const sendEvent = (env: Record<string, unknown>, extra: Record<string, string> = {}) =>
    h.inject({ method: 'POST', url: '/api/v1/slack/events', ...signed(JSON.stringify(env), nowS(), extra) });
  const executionsOf = (wf: string) =>
    h.engine.executeCalls().filter((c) => c.path === `/v2/workflows/${wf}/execute`);
  const settle = () => new Promise((r) => setTimeout(r, 150));

  beforeAll(async () => {
    await slack.start();
    const ws = (teamId: string, n: string) => ({
      teamId,
      team: n,
      botUserId: BOT_USER,
      botId: BOT_ID,
      channels: [{ id: GENERAL, name: 'general' }],
    });
    slack.addWorkspace('xoxb-a', ws(TEAM_A, 'Acme'));
    slack.addWorkspace('xoxb-b', ws(TEAM_B, 'Beta'));
    h = await startHarness({
      clock,
      wrapDb: (inner) => {
        db = withFailureSwitch(inner);
        return db;
      },
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_APP_ID: APP,
        SLACK_API_URL: slack.url,
        CREDENTIALS_KEY: 'a'.repeat(64),
      },
    });
    await h.api(
      'PUT',
      '/api/v1/integrations/slack',
      { access_token: 'xoxb-a', credential_data: { team_id: TEAM_A } },
      'user-a',
    );
    await h.api('PUT', '/api/v1/integrations/slack', { access_token: 'xoxb-b' }, 'user-b');
    // Identical configurations in two workspaces.
    await deploy('wf-a', 'user-a', { channels: ['general'] });
    await deploy('wf-b', 'user-b', { channels: ['general'] });
    await deploy('wf-approve', 'user-a', { events: ['block_actions'] });
  });
  afterAll(async () => {
    await h?.close();
    await slack.stop();
  });

  it('stores, routes and delivers a message with the trigger_data contract', async () => {
    const env = envelope(threadReply({ bot_id: undefined }), { eventId: 'Ev0CONTRACT1' });
    const r = await sendEvent(env);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, duplicate: false });
    const [call] = await h.until(() => (executionsOf('wf-a').length === 1 ? executionsOf('wf-a') : null));
    const data = (call!.body as { trigger_data: Record<string, unknown> }).trigger_data;
    expect(data).toMatchObject({
      trigger_type: 'SLACK',
      event_type: 'message',
      event_id: 'Ev0CONTRACT1',
      team_id: TEAM_A,
      channel_id: GENERAL,
      user_id: 'U0ALICE001',
      text: 'yes, approved',
      ts: '1767225700.000200',
      thread_ts: '1767225600.000100',
      bot_id: null,
    });
    expect((data.event as Record<string, unknown>).event_id).toBe('Ev0CONTRACT1');
    expect(data.event).not.toHaveProperty('token');
  });

  it('two workspaces with identical configurations never trigger each other', async () => {
    const a0 = executionsOf('wf-a').length;
    const b0 = executionsOf('wf-b').length;
    expect((await sendEvent(envelope(message(), { team: TEAM_B }))).statusCode).toBe(200);
    await h.until(() => executionsOf('wf-b').length === b0 + 1);
    expect((await sendEvent(envelope(message(), { team: TEAM_A }))).statusCode).toBe(200);
    await h.until(() => executionsOf('wf-a').length === a0 + 1);
    await settle();
    expect(executionsOf('wf-a').length).toBe(a0 + 1);
    expect(executionsOf('wf-b').length).toBe(b0 + 1);
    const other = await sendEvent(envelope(message(), { team: 'T0STRANGER' }));
    expect(other.statusCode).toBe(200);
    const ev = await h.db.query<{ matched_count: number }>('SELECT matched_count FROM events WHERE id = $1', [
      other.json().event_id,
    ]);
    expect(ev.rows[0]!.matched_count).toBe(0);
  });

  it('retry storm: 3 retries of a stored event and a retry after a failed store → one dispatch each', async () => {
    const before = h.engine.executeCalls().length;
    // Event 1: the first attempt fails before commit; its retries are the only copies.
    const e1 = envelope(message({ text: 'first' }), { eventId: 'Ev0STORM0001' });
    db.failNextEventInsert();
    const failed = await sendEvent(e1);
    expect(failed.statusCode).toBe(503);
    expect(failed.json().code).toBe('SCHED_DATABASE_UNAVAILABLE');
    const outcomes = [];
    for (const n of [1, 2, 3]) {
      const r = await sendEvent(e1, { 'x-slack-retry-num': String(n), 'x-slack-retry-reason': 'http_error' });
      expect(r.statusCode).toBe(200);
      outcomes.push(r.json().duplicate);
    }
    expect(outcomes).toEqual([false, true, true]);
    // Event 2: stored at once, then retried 3 times while the first is still being answered.
    const e2 = envelope(message({ text: 'second' }), { eventId: 'Ev0STORM0002' });
    const all = await Promise.all([
      sendEvent(e2),
      ...[1, 2, 3].map((n) =>
        sendEvent(e2, { 'x-slack-retry-num': String(n), 'x-slack-retry-reason': 'http_timeout' }),
      ),
    ]);
    expect(all.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(all.filter((r) => r.json().duplicate === false)).toHaveLength(1);
    await h.until(() => h.engine.executeCalls().length === before + 2);
    await settle();
    expect(h.engine.executeCalls().length).toBe(before + 2);
    const rows = await h.db.query<{ key: string; n: number }>(
      `SELECT e.idempotency_key AS key, count(d.id)::int AS n FROM events e JOIN dispatches d ON d.event_id = e.id
       WHERE e.idempotency_key LIKE 'SLACK:%:Ev0STORM%' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { key: `SLACK:${APP}:Ev0STORM0001`, n: 1 },
      { key: `SLACK:${APP}:Ev0STORM0002`, n: 1 },
    ]);
    const metrics = (await h.inject({ method: 'GET', url: '/metrics/prometheus' })).body;
    expect(metrics).toMatch(/scheduler_slack_retries_total\{reason="http_error"\} 3/);
  });

  it('ignores message edits unless asked, and records why', async () => {
    const r = await sendEvent(envelope(messageChanged()));
    const ev = await h.db.query<{
      meta: { routing: { workflow_id: string; matched: boolean; reason?: string }[] };
    }>('SELECT meta FROM events WHERE id = $1', [r.json().event_id]);
    expect(ev.rows[0]!.meta.routing).toContainEqual({
      workflow_id: 'wf-a',
      trigger_node_id: 'slack_1',
      matched: false,
      reason: 'event_types: message_changed not subscribed',
    });
  });

  it('block_actions: acknowledged with an empty 200, routed, delivered with the actions', async () => {
    const before = executionsOf('wf-approve').length;
    const body = interactiveBody(blockActions({ threadTs: '1767225600.000100', value: 'approve-run-7' }));
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/interactive',
      ...signed(body, nowS(), {}, 'application/x-www-form-urlencoded'),
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers['x-scheduler-event-id']).toBeTruthy();
    await h.until(() => executionsOf('wf-approve').length === before + 1);
    const data = (executionsOf('wf-approve').at(-1)!.body as { trigger_data: Record<string, unknown> })
      .trigger_data;
    expect(data).toMatchObject({
      trigger_type: 'SLACK',
      event_type: 'block_actions',
      team_id: TEAM_A,
      user_id: BOB,
      channel_id: GENERAL,
      message_ts: '1767226000.000500',
      thread_ts: '1767225600.000100',
      actions: [{ action_id: 'approve', block_id: 'approval_block', value: 'approve-run-7' }],
    });
  });

  it("block_actions resume the workflow's waiting execution in 'latest' mode", async () => {
    h.engine.behaviour.resume = 'supported';
    const waiting = h.engine.addExecution('wf-approve', 'WAITING_FOR_HUMAN');
    const body = interactiveBody(blockActions({ value: 'yes' }));
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/interactive',
      ...signed(body, nowS(), {}, 'application/x-www-form-urlencoded'),
    });
    expect(r.statusCode).toBe(200);
    await h.until(() => waiting.resumes.length === 1);
    expect(waiting.resumes[0]).toMatchObject({
      resume_data: { event_type: 'block_actions', actions: [{ value: 'yes' }] },
    });
    h.engine.behaviour.resume = 'unsupported';
  });

  it('acknowledges other interactions without storing them', async () => {
    const before = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    const body = interactiveBody({
      type: 'view_submission',
      api_app_id: APP,
      team: { id: TEAM_A },
      user: { id: BOB },
      view: { id: 'V1' },
    });
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/interactive',
      ...signed(body, nowS(), {}, 'application/x-www-form-urlencoded'),
    });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('');
    const after = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('records app_rate_limited notices once each and counts them in metrics', async () => {
    const notice = (minute: number) =>
      sendEvent({
        token: 'x',
        type: 'app_rate_limited',
        team_id: TEAM_A,
        minute_rate_limited: minute,
        api_app_id: APP,
      });
    for (const m of [1767225600, 1767225600, 1767225660]) expect((await notice(m)).statusCode).toBe(200);
    const notices = await listRateLimitNotices(h.db);
    expect(notices.map((n) => n.minute_rate_limited).sort()).toEqual([1767225600, 1767225660]);
    const metrics = (await h.inject({ method: 'GET', url: '/metrics/prometheus' })).body;
    expect(metrics).toContain(`scheduler_slack_app_rate_limited_total{team_id="${TEAM_A}"} 2`);
  });

  it('refuses an event_callback without its ids and acknowledges unknown envelope types', async () => {
    const { event_id: _e, ...noId } = envelope(message());
    const bad = await sendEvent(noId);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('SCHED_VALIDATION');
    const odd = await sendEvent({ type: 'something_new', api_app_id: APP });
    expect(odd.json()).toEqual({ ok: true, ignored: true });
  });
});
