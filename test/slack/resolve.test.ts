import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';
import { BOT_ID, BOT_USER, SECRET, TEAM_A, TEAM_B } from './helpers/envelopes.js';
import { FakeSlackApi } from './helpers/slackApi.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const channels = [
  { id: 'C0GENERAL1', name: 'general' },
  { id: 'C0RANDOM02', name: 'random' },
  { id: 'C0DEV00003', name: 'dev' },
  { id: 'G0SECRET04', name: 'secret-ops', is_private: true },
  { id: 'C0SUPPORT5', name: 'support' },
  { id: 'C0SALES006', name: 'sales' },
  { id: 'C0ALERTS07', name: 'alerts' },
];

/** Real time passes only for the HTTP round trips; Slack's Retry-After is waited on the manual clock. */
async function realPause(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

describe('deploy-time Slack resolution against a local Slack Web API', () => {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const slack = new FakeSlackApi();
  let h: Harness;

  beforeAll(async () => {
    await slack.start();
    slack.addWorkspace('xoxb-team-a', {
      teamId: TEAM_A,
      team: 'Acme',
      botUserId: BOT_USER,
      botId: BOT_ID,
      channels: [...channels],
    });
    slack.addWorkspace('xoxb-team-b', {
      teamId: TEAM_B,
      team: 'Beta',
      botUserId: 'U0BOTBBBB2',
      botId: 'B0BOTBBBB2',
      channels: [...channels],
    });
    slack.addWorkspace('xoxb-public-only', {
      teamId: 'T0PUBLIC03',
      team: 'Pub',
      botUserId: 'U0BOTPUB03',
      botId: 'B0BOTPUB03',
      channels: [...channels],
    });
    slack.publicOnlyTokens.add('xoxb-public-only');
    h = await startHarness({
      clock,
      env: { SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: slack.url, CREDENTIALS_KEY: KEY },
    });
    for (const [user, token] of [
      ['user-a', 'xoxb-team-a'],
      ['user-b', 'xoxb-team-b'],
      ['user-p', 'xoxb-public-only'],
      ['user-x', 'xoxb-revoked'],
    ]) {
      const r = await h.api('PUT', '/api/v1/integrations/slack', { access_token: token }, user);
      expect(r.statusCode, r.body).toBe(201);
    }
  });
  afterAll(async () => {
    await h?.close();
    await slack.stop();
  });

  const deploy = (id: string, user: string, config: Record<string, unknown>) =>
    h.api(
      'POST',
      `/api/v1/deployment/workflows/${id}/deploy`,
      {
        workflow_spec: workflowSpec(id, [{ id: 'slack_1', subtype: 'SLACK', configurations: config }], {
          createdBy: user,
        }),
      },
      user,
    );

  const storedConfig = async (id: string) => {
    const r = await h.db.query<{ trigger_config: Record<string, unknown>; index_key: string }>(
      'SELECT trigger_config, index_key FROM trigger_index WHERE workflow_id = $1',
      [id],
    );
    return r.rows[0]!;
  };

  it('pages conversations.list to the end and waits exactly Retry-After on a 429', async () => {
    slack.pageSize = 2; // 7 channels → 4 pages, the first ones "short" of the 1000 asked for
    slack.rateLimit429At = { call: 1, retryAfterS: 3 };
    const pending = deploy('wf-res-1', 'user-a', {
      channels: ['#alerts', 'general', 'C0DEV00003', 'secret-ops'],
      workspace_id: TEAM_A,
    });
    await h.until(() => slack.callsOf('conversations.list').some((c) => c.status === 429));
    await realPause(150);
    const afterLimit = slack.callsOf('conversations.list').length;
    await clock.advance(2_999);
    await realPause(150);
    expect(slack.callsOf('conversations.list').length, 'no request before Retry-After elapsed').toBe(
      afterLimit,
    );
    await clock.advance(1);
    const r = await pending;
    expect(r.statusCode, r.body).toBe(200);
    const list = slack.callsOf('conversations.list');
    expect(list.map((c) => c.status)).toEqual([200, 429, 200, 200, 200]);
    // The page after the 429 is asked for again with the same cursor; the loop ends on an empty cursor.
    expect(list[1]!.params.cursor).toBe(list[2]!.params.cursor);
    expect(list[0]!.params).toMatchObject({
      types: 'public_channel,private_channel',
      exclude_archived: 'true',
    });
    const t = await storedConfig('wf-res-1');
    expect(t.index_key).toBe(TEAM_A);
    expect(t.trigger_config).toMatchObject({
      workspace_id: TEAM_A,
      channels: ['C0ALERTS07', 'C0GENERAL1', 'C0DEV00003', 'G0SECRET04'],
      channel_names: { alerts: 'C0ALERTS07', general: 'C0GENERAL1', 'secret-ops': 'G0SECRET04' },
      bot_user_id: BOT_USER,
      bot_id: BOT_ID,
    });
    expect(JSON.stringify(t.trigger_config)).not.toContain('xoxb');
  });

  it('treats {ok:false, error:"ratelimited"} like a 429', async () => {
    slack.rateLimit429At = undefined;
    const before = slack.callsOf('conversations.list').length;
    slack.rateLimitedOkAt = { call: before, retryAfterS: 2 };
    const pending = deploy('wf-res-2', 'user-b', { channels: ['support'] });
    await h.until(() => slack.callsOf('conversations.list').length > before);
    await realPause(100);
    expect(slack.callsOf('conversations.list').length).toBe(before + 1);
    await clock.advance(2_000);
    const r = await pending;
    expect(r.statusCode, r.body).toBe(200);
    expect((await storedConfig('wf-res-2')).index_key).toBe(TEAM_B);
    slack.rateLimitedOkAt = undefined;
  });

  it('caches channel lists per workspace: another deploy does not list again', async () => {
    const before = slack.callsOf('conversations.list').length;
    const r = await deploy('wf-res-3', 'user-a', { channels: ['random', 'dev'] });
    expect(r.statusCode, r.body).toBe(200);
    expect(slack.callsOf('conversations.list').length).toBe(before);
    expect((await storedConfig('wf-res-3')).trigger_config).toMatchObject({
      channels: ['C0RANDOM02', 'C0DEV00003'],
    });
  });

  it('an unknown channel name is a deploy error naming it; a new channel is found after one refetch', async () => {
    const before = slack.callsOf('conversations.list').length;
    const r = await deploy('wf-res-4', 'user-a', { channels: ['general', 'launch'] });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({
      code: 'SCHED_SLACK_UNKNOWN_CHANNEL',
      details: { node_id: 'slack_1', channel: 'launch' },
    });
    expect(r.json().message).toContain('#launch');
    expect(slack.callsOf('conversations.list').length, 'a fresh list is not refetched').toBe(before);
    slack.tokens.get('xoxb-team-a')!.channels.push({ id: 'C0LAUNCH08', name: 'launch' });
    await clock.advance(31_000);
    const again = await deploy('wf-res-4', 'user-a', { channels: ['general', 'launch'] });
    expect(again.statusCode, again.body).toBe(200);
    expect(slack.callsOf('conversations.list').length).toBe(before + 4);
    const status = await h.api('GET', '/api/v1/deployment/workflows/wf-res-4/status', undefined, 'user-a');
    expect(status.json().status).toBe('DEPLOYED');
  });

  it('without a workspace there is no trigger: no token, a revoked token, another workspace', async () => {
    const none = await deploy('wf-res-5', 'user-nobody', { channels: ['general'] });
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe('SCHED_SLACK_NOT_CONNECTED');
    expect(none.json().message).toContain('/api/v1/integrations/slack');
    const revoked = await deploy('wf-res-6', 'user-x', {});
    expect(revoked.statusCode).toBe(409);
    expect(revoked.json().code).toBe('SCHED_SLACK_TOKEN_INVALID');
    const other = await deploy('wf-res-7', 'user-a', { workspace_id: TEAM_B });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({
      code: 'SCHED_SLACK_WORKSPACE_MISMATCH',
      details: { field: 'workspace_id' },
    });
    const rows = await h.db.query(
      "SELECT 1 FROM trigger_index WHERE workflow_id IN ('wf-res-5', 'wf-res-6', 'wf-res-7')",
    );
    expect(rows.rows).toHaveLength(0);
  });

  it('without groups:read, public names still resolve and private ones are unknown', async () => {
    const ok = await deploy('wf-res-8', 'user-p', { channels: ['general'] });
    expect(ok.statusCode, ok.body).toBe(200);
    const priv = await deploy('wf-res-9', 'user-p', { channels: ['secret-ops'] });
    expect(priv.json().code).toBe('SCHED_SLACK_UNKNOWN_CHANNEL');
  });
});

describe('single-workspace install (SLACK_BOT_TOKEN)', () => {
  const slack = new FakeSlackApi();
  let h: Harness;
  beforeAll(async () => {
    await slack.start();
    slack.addWorkspace('xoxb-install', {
      teamId: TEAM_A,
      team: 'Acme',
      botUserId: BOT_USER,
      botId: BOT_ID,
      channels: [...channels],
    });
    h = await startHarness({
      env: { SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: slack.url, SLACK_BOT_TOKEN: 'xoxb-install' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await slack.stop();
  });

  it('uses the install token when the owner stored none (and no CREDENTIALS_KEY is needed)', async () => {
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-inst/deploy', {
      workflow_spec: workflowSpec('wf-inst', [
        { id: 's1', subtype: 'SLACK', configurations: { channels: ['general'] } },
      ]),
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().triggers[0]).toMatchObject({
      subtype: 'SLACK',
      index_key: TEAM_A,
      resume_mode: 'latest',
    });
    expect(slack.callsOf('auth.test')[0]!.token).toBe('xoxb-install');
  });
});
