import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { GithubApi, GithubApiError } from '../../src/triggers/github/api.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';
import { FakeGitHub } from './fakeGithub.js';
import { deliver, example, SECRET } from './helpers.js';

const REPO = 'Codertocat/Hello-World';

describe('GitHub API client against a local GitHub', () => {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const gh = new FakeGitHub(() => clock.now());
  let api: GithubApi;
  beforeAll(async () => {
    await gh.start();
  });
  afterAll(async () => {
    await gh.stop();
  });
  beforeEach(() => {
    api = new GithubApi(
      { apiUrl: gh.url, appId: gh.appId, privateKey: gh.privateKeyPem, timeoutMs: 2000 },
      clock,
    );
    gh.requests.length = 0;
    gh.jwtClaims.length = 0;
    gh.fail = {};
    gh.linkOrigin = undefined;
  });

  it('mints installation tokens with an RS256 App JWT and caches them until 5 minutes before expiry', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, () => api.installationToken(7)));
    expect(new Set(tokens).size).toBe(1);
    expect(gh.count(/^POST \/app\/installations\/7\/access_tokens$/)).toBe(1);
    const claims = gh.jwtClaims[0]!;
    const now = Math.floor(clock.now() / 1000);
    expect(claims).toMatchObject({ iss: gh.appId, iat: now - 60 });
    expect(Number(claims.exp) - now).toBeLessThanOrEqual(600);

    await clock.advance(54 * 60_000); // 6 minutes left: still cached
    expect(await api.installationToken(7)).toBe(tokens[0]);
    await clock.advance(60_001); // under 5 minutes left: a new one
    const fresh = await api.installationToken(7);
    expect(fresh).not.toBe(tokens[0]);
    expect(gh.count(/access_tokens/)).toBe(2);
    await api.installationToken(8);
    expect(gh.count(/^POST \/app\/installations\/8\//)).toBe(1);
  });

  it('pages pull request files through Link headers, up to the first 300', async () => {
    gh.files.set(
      `${REPO}#1`,
      Array.from({ length: 250 }, (_, i) => `f${i}.ts`),
    );
    gh.files.set(
      `${REPO}#2`,
      Array.from({ length: 350 }, (_, i) => `g${i}.ts`),
    );
    gh.files.set(
      `${REPO}#3`,
      Array.from({ length: 300 }, (_, i) => `h${i}.ts`),
    );
    const deadline = clock.now() + 5000;
    const one = await api.pullRequestFiles(REPO, 1, 7, deadline);
    expect(one.files).toHaveLength(250);
    expect(one.truncated).toBe(false);
    expect(gh.count(/pulls\/1\/files/)).toBe(3);
    expect(gh.requests.find((r) => r.path.includes('pulls/1/files'))?.path).toContain('per_page=100');
    const two = await api.pullRequestFiles(REPO, 2, 7, deadline);
    expect(two.files).toHaveLength(300);
    expect(two.files.at(-1)).toBe('g299.ts');
    expect(two.truncated).toBe(true);
    expect(gh.count(/pulls\/2\/files/)).toBe(3);
    const three = await api.pullRequestFiles(REPO, 3, 7, deadline);
    expect(three).toMatchObject({ truncated: false });
    expect(three.files).toHaveLength(300);
  });

  it('never follows a Link to another origin with the token', async () => {
    gh.files.set(
      `${REPO}#4`,
      Array.from({ length: 150 }, (_, i) => `x${i}`),
    );
    gh.linkOrigin = 'http://evil.example';
    const r = await api.pullRequestFiles(REPO, 4, 7, clock.now() + 5000);
    expect(r.files).toHaveLength(100);
    expect(gh.count(/pulls\/4\/files/)).toBe(1);
  });

  it('finds the installation of a repository, null when the App is not installed', async () => {
    gh.installations.set('octo/app', { id: 99, account: { login: 'octo', id: 5, type: 'Organization' } });
    expect(await api.repositoryInstallation('Octo/App')).toMatchObject({ id: 99 });
    expect(await api.repositoryInstallation('octo/none')).toBeNull();
    gh.fail.installation = 500;
    await expect(api.repositoryInstallation('octo/app')).rejects.toMatchObject({
      code: 'SCHED_GITHUB_API_ERROR',
      status: 500,
    });
  });

  it('reports failures with codes', async () => {
    gh.fail.tokens = 503;
    await expect(api.installationToken(11)).rejects.toBeInstanceOf(GithubApiError);
    const unconfigured = new GithubApi(
      { apiUrl: gh.url, appId: undefined, privateKey: undefined, timeoutMs: 100 },
      clock,
    );
    await expect(unconfigured.repositoryInstallation(REPO)).rejects.toMatchObject({
      code: 'SCHED_GITHUB_APP_NOT_CONFIGURED',
    });
    const badKey = new GithubApi(
      { apiUrl: gh.url, appId: '1', privateKey: 'not a key', timeoutMs: 100 },
      clock,
    );
    await expect(badKey.installationToken(1)).rejects.toMatchObject({
      code: 'SCHED_GITHUB_APP_NOT_CONFIGURED',
    });
  });
});

describe('GitHub triggers with the GitHub API (deploy-time installation, pull request files)', () => {
  const gh = new FakeGitHub();
  let h: Harness;
  const prPayload = (action: string, delivery = '') => {
    const p = example('pull_request', (x) => x.action === 'synchronize');
    return { ...p, action, _delivery: delivery };
  };
  beforeAll(async () => {
    await gh.start();
    gh.installations.set(REPO.toLowerCase(), {
      id: 1,
      account: { login: 'Codertocat', id: 21031067, type: 'User' },
    });
    h = await startHarness({
      env: {
        GITHUB_WEBHOOK_SECRET: SECRET,
        GITHUB_API_URL: gh.url,
        GITHUB_APP_ID: gh.appId,
        GITHUB_APP_PRIVATE_KEY: gh.privateKeyPem.replace(/\n/g, '\\n'),
        GITHUB_API_TIMEOUT_MS: '2000',
      },
    });
    for (const [id, event_config] of [
      ['wf-pr-src', { pull_request: { paths: ['src/**'] } }],
      ['wf-pr-any', { pull_request: {} }],
    ] as const) {
      const spec = workflowSpec(id, [
        { id: 'gh_1', subtype: 'GITHUB', configurations: { repository: REPO, event_config } },
      ]);
      const r = await h.api('POST', `/api/v1/deployment/workflows/${id}/deploy`, { workflow_spec: spec });
      expect(r.statusCode, r.body).toBe(200);
    }
  });
  afterAll(async () => {
    await h?.close();
    await gh.stop();
  });

  it('resolved the installation at deploy with GET /repos/{owner}/{repo}/installation and remembered it', async () => {
    expect(gh.count(/^GET \/repos\/Codertocat\/Hello-World\/installation$/)).toBe(1);
    const cfg = await h.db.query<{ c: { installation_id: number; installation_source: string } }>(
      "SELECT trigger_config AS c FROM trigger_index WHERE workflow_id = 'wf-pr-src'",
    );
    expect(cfg.rows[0]?.c).toMatchObject({ installation_id: 1, installation_source: 'api' });
    const other = await h.db.query<{ c: { installation_source: string } }>(
      "SELECT trigger_config AS c FROM trigger_index WHERE workflow_id = 'wf-pr-any'",
    );
    expect(other.rows[0]?.c.installation_source).toBe('installations');
  });

  it('fails a deploy with a code when the App is not installed or GitHub fails', async () => {
    const spec = (repo: string) =>
      workflowSpec('wf-pr-missing', [
        { id: 'gh_1', subtype: 'GITHUB', configurations: { repository: repo } },
      ]);
    const missing = await h.api('POST', '/api/v1/deployment/workflows/wf-pr-missing/deploy', {
      workflow_spec: spec('octo/not-installed'),
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('SCHED_GITHUB_INSTALLATION_NOT_FOUND');
    gh.fail.installation = 500;
    const failing = await h.api('POST', '/api/v1/deployment/workflows/wf-pr-missing/deploy', {
      workflow_spec: spec('octo/other'),
    });
    gh.fail.installation = undefined;
    expect(failing.statusCode).toBe(502);
    expect(failing.json().code).toBe('SCHED_GITHUB_API_ERROR');
    // Naming the installation needs no resolution.
    const named = workflowSpec('wf-pr-missing', [
      {
        id: 'gh_1',
        subtype: 'GITHUB',
        configurations: { repository: 'octo/other', github_app_installation_id: 5 },
      },
    ]);
    const ok = await h.api('POST', '/api/v1/deployment/workflows/wf-pr-missing/deploy', {
      workflow_spec: named,
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('fetches pull request files once for a path-filtered trigger and puts them in trigger_data', async () => {
    gh.files.set(`${REPO}#2`, ['docs/readme.md', 'src/app.ts']);
    h.engine.reset();
    const before = gh.count(/pulls\/2\/files/);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        deliver(h, { event: 'pull_request', delivery: 'pr-1', payload: prPayload('synchronize') }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    expect(answers.filter((a) => !a.json().duplicate).map((a) => a.json().matched)).toEqual([2]);
    expect(gh.count(/pulls\/2\/files/) - before).toBe(1);
    const calls = await h.until(() =>
      h.engine.executeCalls().length === 2 ? h.engine.executeCalls() : null,
    );
    for (const c of calls) {
      expect((c.body as { trigger_data: Record<string, unknown> }).trigger_data).toMatchObject({
        event_type: 'pull_request',
        number: 2,
        changed_files: ['docs/readme.md', 'src/app.ts'],
      });
    }
  });

  it('asks GitHub nothing when no trigger needs the files', async () => {
    const before = gh.requests.length;
    const r = await deliver(h, {
      event: 'pull_request',
      delivery: 'pr-closed',
      payload: prPayload('closed'),
    });
    expect(r.json().matched).toBe(0);
    expect(gh.requests.length).toBe(before);
  });

  it('fails the path filter closed when GitHub fails, and records why on the event', async () => {
    gh.fail.files = 500;
    const r = await deliver(h, { event: 'pull_request', delivery: 'pr-500', payload: prPayload('opened') });
    gh.fail.files = undefined;
    expect(r.statusCode).toBe(200);
    expect(r.json().matched).toBe(1);
    const event = (await h.api('GET', `/api/v1/events/${r.json().event_id}`, undefined, null)).json();
    expect(event.meta.github.changed_files).toMatchObject({
      source: 'api',
      error_code: 'SCHED_GITHUB_API_ERROR',
    });
    expect(event.meta.github.changed_files.error).toMatch(/answered HTTP 500/);
    const src = event.meta.routing.find((x: { workflow_id: string }) => x.workflow_id === 'wf-pr-src');
    expect(src).toMatchObject({ matched: false });
    expect(src.reason).toMatch(
      /^paths: changed files unavailable \(SCHED_GITHUB_API_ERROR: GET \/repos\/Codertocat\/Hello-World\/pulls\/2\/files answered HTTP 500\); the path filter fails closed$/,
    );
  });

  it('bounds the wait: a slow GitHub times out well inside the 10 s deadline', async () => {
    gh.delayMs = 4000;
    const started = performance.now();
    const r = await deliver(h, {
      event: 'pull_request',
      delivery: 'pr-slow',
      payload: prPayload('reopened'),
    });
    gh.delayMs = 0;
    expect(performance.now() - started).toBeLessThan(3800);
    expect(r.statusCode).toBe(200);
    const event = (await h.api('GET', `/api/v1/events/${r.json().event_id}`, undefined, null)).json();
    expect(event.meta.github.changed_files.error).toMatch(/timed out|no time left/);
  });
});
