import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyGithubSignature } from '../../src/triggers/github/routes.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';
import { deliver, example, signature } from './helpers.js';

// GitHub's published test vector doubles as this service's secret, so the route is checked against it too.
const SECRET = "It's a Secret to Everybody";
const REPO = 'Codertocat/Hello-World';

async function deploy(
  h: Harness,
  id: string,
  event_config: unknown,
  user = 'user-1',
  extra: Record<string, unknown> = {},
) {
  const spec = workflowSpec(
    id,
    [
      {
        id: 'gh_1',
        subtype: 'GITHUB',
        configurations: { repository: REPO, github_app_installation_id: 1, event_config, ...extra },
      },
    ],
    { createdBy: user },
  );
  const r = await h.api('POST', `/api/v1/deployment/workflows/${id}/deploy`, { workflow_spec: spec }, user);
  expect(r.statusCode, r.body).toBe(200);
}

const count = async (h: Harness, sql: string, params: unknown[] = []) =>
  Number((await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]?.n);

describe('GitHub webhook ingress', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GITHUB_WEBHOOK_SECRET: SECRET } });
    await deploy(h, 'wf-gh-master', { push: { branches: ['master'] } });
    await deploy(h, 'wf-gh-readme', { push: { paths: ['*.md'] } }, 'user-2');
    await deploy(h, 'wf-gh-tags', { push: { tags: ['v*'] } });
    await deploy(h, 'wf-gh-ping', { ping: {} });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("verifies GitHub's published test vector", async () => {
    const vector = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(verifyGithubSignature(SECRET, Buffer.from('Hello, World!'), vector)).toBe(true);
    expect(verifyGithubSignature(SECRET, Buffer.from('Hello, World?'), vector)).toBe(false);
    expect(
      verifyGithubSignature(
        SECRET,
        Buffer.from('Hello, World!'),
        vector.toUpperCase().replace('SHA256', 'sha256'),
      ),
    ).toBe(true);
    expect(verifyGithubSignature(SECRET, Buffer.from('Hello, World!'), vector.slice(0, -2))).toBe(false);
    // Through the route: the signature passes, then the body is not JSON.
    const base = { event: 'push', delivery: 'vector-1', body: 'Hello, World!' };
    const ok = await deliver(h, { ...base, secret: SECRET, headers: { 'x-hub-signature-256': vector } });
    expect(ok.statusCode, ok.body).toBe(400);
    expect(ok.json().code).toBe('SCHED_GITHUB_PAYLOAD_INVALID');
    const bad = await deliver(h, { ...base, headers: { 'x-hub-signature-256': vector.replace(/7$/, '8') } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('SCHED_GITHUB_SIGNATURE_INVALID');
  });

  it('verifies the raw bytes of unicode bodies, not a re-serialisation', async () => {
    const payload = example('issues', (x) => x.action === 'opened');
    const issue = payload.issue as Record<string, unknown>;
    issue.title = 'Ünïcödé 🚀 日本語 "quotes" \\ back';
    // GitHub's own escaping: \/ and \u escapes, spacing a re-serialisation would change.
    const body = JSON.stringify(payload, null, 1).replace(/\//g, '\\/').replace('🚀', '\\ud83d\\ude80');
    const r = await deliver(h, { event: 'issues', delivery: 'unicode-1', body, secret: SECRET });
    expect(r.statusCode, r.body).toBe(200);
    const stored = await h.db.query<{ payload: { issue: { title: string } } }>(
      'SELECT payload FROM github_webhook_events WHERE delivery_id = $1',
      ['unicode-1'],
    );
    expect(stored.rows[0]?.payload.issue.title).toBe('Ünïcödé 🚀 日本語 "quotes" \\ back');
    const resigned = await deliver(h, {
      event: 'issues',
      delivery: 'unicode-2',
      body,
      headers: { 'x-hub-signature-256': signature(SECRET, JSON.stringify(JSON.parse(body))) },
    });
    expect(resigned.statusCode).toBe(401);
  });

  it('accepts form-encoded deliveries (payload=…), signed over the form body', async () => {
    const payload = example('push', (x) => x.ref === 'refs/heads/master' && x.created === true);
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const r = await deliver(h, {
      event: 'push',
      delivery: 'form-1',
      body,
      secret: SECRET,
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, duplicate: false, matched: 2 });
    const noField = 'other=1';
    const missing = await deliver(h, {
      event: 'push',
      delivery: 'form-2',
      body: noField,
      secret: SECRET,
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('SCHED_GITHUB_PAYLOAD_INVALID');
  });

  it('refuses wrong, missing and SHA-1-only signatures with 401', async () => {
    const body = JSON.stringify(example('ping'));
    const wrong = await deliver(h, { event: 'ping', delivery: 'sig-1', body, secret: 'another secret' });
    const missing = await deliver(h, {
      event: 'ping',
      delivery: 'sig-2',
      body,
      headers: { 'x-hub-signature-256': '' },
    });
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    const sha1Only = await deliver(h, {
      event: 'ping',
      delivery: 'sig-3',
      body,
      headers: { 'x-hub-signature-256': '', 'x-hub-signature': sha1 },
    });
    const malformed = await deliver(h, {
      event: 'ping',
      delivery: 'sig-4',
      body,
      headers: { 'x-hub-signature-256': 'sha256=zz' },
    });
    for (const r of [wrong, missing, sha1Only, malformed]) {
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('SCHED_GITHUB_SIGNATURE_INVALID');
    }
    expect(sha1Only.json().message).toMatch(/SHA-1/);
    expect(await count(h, "github_webhook_events WHERE delivery_id LIKE 'sig-%'")).toBe(0);
  });

  it('requires X-GitHub-Event and X-GitHub-Delivery (400)', async () => {
    const body = JSON.stringify(example('ping'));
    const cases: Record<string, string>[] = [
      { 'x-github-event': '' },
      { 'x-github-delivery': '' },
      { 'x-github-event': 'Not An Event' },
    ];
    for (const headers of cases) {
      const r = await deliver(h, { event: 'ping', delivery: 'hdr-1', body, secret: SECRET, headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(400);
      expect(r.json().code).toBe('SCHED_GITHUB_HEADERS_MISSING');
    }
  });

  it('refuses bodies over 25 MB (413) and other content types (415)', async () => {
    const big = `{"x":"${'a'.repeat(25 * 1024 * 1024)}"}`;
    const r = await deliver(h, { event: 'push', delivery: 'big-1', body: big, secret: SECRET });
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe('SCHED_BODY_TOO_LARGE');
    const text = await deliver(h, {
      event: 'push',
      delivery: 'txt-1',
      body: '{}',
      secret: SECRET,
      contentType: 'text/plain',
    });
    expect(text.statusCode).toBe(415);
  });

  it('records ping and routes nothing, even to a trigger subscribed to it', async () => {
    const ping = {
      ...example('ping'),
      repository: { id: 1, full_name: REPO, private: false },
      installation: { id: 1 },
    };
    const r = await deliver(h, { event: 'ping', delivery: 'ping-1', payload: ping, secret: SECRET });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ matched: 0, duplicate: false });
    expect(await count(h, "github_webhook_events WHERE delivery_id = 'ping-1' AND event_type = 'ping'")).toBe(
      1,
    );
    expect(await count(h, "dispatches WHERE workflow_id = 'wf-gh-ping'")).toBe(0);
  });

  it('dispatches a real push to each matching workflow, with the routing record on the event', async () => {
    h.engine.reset();
    const payload = example('push', (x) => x.ref === 'refs/heads/master' && x.created === true);
    const started = performance.now();
    const r = await deliver(h, { event: 'push', delivery: 'push-1', payload, secret: SECRET });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, delivery_id: 'push-1', duplicate: false, matched: 2 });
    const calls = await h.until(() =>
      h.engine.executeCalls().length === 2 ? h.engine.executeCalls() : null,
    );
    const bodies = calls.map((c) => c.body as { trigger_data: Record<string, unknown> });
    for (const b of bodies) {
      expect(b.trigger_data).toMatchObject({
        trigger_type: 'GITHUB',
        event_type: 'push',
        delivery_id: 'push-1',
        repository: { full_name: REPO },
        sender: { login: 'Codertocat', type: 'User' },
        branch: 'master',
        installation_id: 1,
        changed_files: ['README.md'],
      });
      expect((b.trigger_data.payload as { after: string }).after).toBe(payload.after);
    }
    const event = await h.api('GET', `/api/v1/events/${r.json().event_id}`, undefined, null);
    expect(event.statusCode, event.body).toBe(200);
    const routing = event.json().meta.routing as { workflow_id: string; matched: boolean; reason?: string }[];
    expect(routing).toEqual(
      expect.arrayContaining([
        { workflow_id: 'wf-gh-master', trigger_node_id: 'gh_1', matched: true },
        { workflow_id: 'wf-gh-readme', trigger_node_id: 'gh_1', matched: true },
        {
          workflow_id: 'wf-gh-tags',
          trigger_node_id: 'gh_1',
          matched: false,
          reason: 'tags: branch push (master) and only tag filters are set',
        },
        {
          workflow_id: 'wf-gh-ping',
          trigger_node_id: 'gh_1',
          matched: false,
          reason: 'event: push is not one of ping',
        },
      ]),
    );
    expect(event.json().meta.github).toMatchObject({
      delivery_id: 'push-1',
      changed_files: { source: 'push', count: 1 },
    });
  });

  it('dispatches 50 concurrent redeliveries of one delivery id once per matched workflow', async () => {
    h.engine.reset();
    const payload = example('push', (x) => x.ref === 'refs/heads/master' && x.created === true);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        deliver(h, { event: 'push', delivery: 'redeliver-1', payload, secret: SECRET }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(50).fill(200));
    expect(answers.filter((a) => a.json().duplicate === false)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.json().event_id)).size).toBe(1);
    await h.until(() => h.engine.executeCalls().length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.engine.executeCalls()).toHaveLength(2);
    expect(await count(h, "github_webhook_events WHERE delivery_id = 'redeliver-1'")).toBe(1);
    expect(
      await count(
        h,
        "dispatches d JOIN events e ON e.id = d.event_id WHERE e.idempotency_key = 'GITHUB:redeliver-1'",
      ),
    ).toBe(2);
    const again = await deliver(h, { event: 'push', delivery: 'redeliver-1', payload, secret: SECRET });
    expect(again.json()).toMatchObject({ duplicate: true, matched: 0 });
  });

  it('keeps github_installations current from installation events and resolves deploys from it', async () => {
    const created = example('installation', (x) => x.action === 'created');
    expect(
      (await deliver(h, { event: 'installation', delivery: 'inst-1', payload: created, secret: SECRET }))
        .statusCode,
    ).toBe(200);
    const added = example('installation_repositories', (x) => x.action === 'added');
    expect(
      (
        await deliver(h, {
          event: 'installation_repositories',
          delivery: 'inst-2',
          payload: added,
          secret: SECRET,
        })
      ).statusCode,
    ).toBe(200);
    const row = await h.db.query<{ account_login: string; repositories: { full_name: string }[] }>(
      'SELECT account_login, repositories FROM github_installations WHERE installation_id = 957387',
    );
    expect(row.rows[0]?.account_login).toBe('Codertocat');
    expect(row.rows[0]?.repositories.map((r) => r.full_name).sort()).toEqual([
      'Codertocat/Hello-World',
      'Codertocat/Space',
    ]);

    const spec = workflowSpec('wf-gh-space', [
      { id: 'gh_1', subtype: 'GITHUB', configurations: { repository: 'codertocat/space' } },
    ]);
    const dep = await h.api('POST', '/api/v1/deployment/workflows/wf-gh-space/deploy', {
      workflow_spec: spec,
    });
    expect(dep.statusCode, dep.body).toBe(200);
    expect(dep.json().triggers[0].index_key).toBe('codertocat/space');
    const cfg = await h.db.query<{ c: { installation_id: number; installation_source: string } }>(
      "SELECT trigger_config AS c FROM trigger_index WHERE workflow_id = 'wf-gh-space'",
    );
    expect(cfg.rows[0]?.c).toMatchObject({ installation_id: 957387, installation_source: 'installations' });

    // Removed again (and the App has no credentials here): the deploy fails with a code.
    const removed = structuredClone(added);
    Object.assign(removed, {
      action: 'removed',
      repositories_removed: removed.repositories_added,
      repositories_added: [],
    });
    expect(
      (
        await deliver(h, {
          event: 'installation_repositories',
          delivery: 'inst-3',
          payload: removed,
          secret: SECRET,
        })
      ).statusCode,
    ).toBe(200);
    const redeploy = await h.api('POST', '/api/v1/deployment/workflows/wf-gh-space/deploy', {
      workflow_spec: spec,
    });
    expect(redeploy.statusCode, redeploy.body).toBe(400);
    expect(redeploy.json()).toMatchObject({
      code: 'SCHED_GITHUB_INSTALLATION_NOT_FOUND',
      details: { node_id: 'gh_1' },
    });

    // Uninstalling marks the row; it then resolves nothing, not even a repository it still lists.
    const deleted = { ...created, action: 'deleted' };
    const del = await deliver(h, {
      event: 'installation',
      delivery: 'inst-4',
      payload: deleted,
      secret: SECRET,
    });
    expect(del.statusCode).toBe(200);
    expect(
      await count(h, 'github_installations WHERE installation_id = 957387 AND deleted_at IS NOT NULL'),
    ).toBe(1);
    const hello = workflowSpec('wf-gh-hello', [
      { id: 'gh_1', subtype: 'GITHUB', configurations: { repository: REPO } },
    ]);
    const none = await h.api('POST', '/api/v1/deployment/workflows/wf-gh-hello/deploy', {
      workflow_spec: hello,
    });
    expect(none.json().code).toBe('SCHED_GITHUB_INSTALLATION_NOT_FOUND');
  });

  it('explains, for the caller only, which triggers an event would fire, without dispatching', async () => {
    h.engine.reset();
    const events = await count(h, 'events');
    const payload = example('push', (x) => x.ref === 'refs/heads/master' && x.created === true);
    (payload.commits as { added: string[] }[])[0]!.added = ['src/app.ts'];
    const r = await h.api('POST', '/api/v1/github/explain', { event_type: 'push', payload }, 'user-1');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      repository: 'codertocat/hello-world',
      event_type: 'push',
      action: null,
      changed_files: { source: 'push', count: 1, truncated: false },
      triggers: [
        { workflow_id: 'wf-gh-master', trigger_node_id: 'gh_1', enabled: true, matched: true },
        {
          workflow_id: 'wf-gh-ping',
          trigger_node_id: 'gh_1',
          enabled: true,
          matched: false,
          reason: 'event: push is not one of ping',
        },
        {
          workflow_id: 'wf-gh-tags',
          trigger_node_id: 'gh_1',
          enabled: true,
          matched: false,
          reason: 'tags: branch push (master) and only tag filters are set',
        },
      ],
    });
    const other = await h.api(
      'POST',
      '/api/v1/github/explain',
      { event_type: 'push', payload, changed_files: ['docs/x.txt'] },
      'user-2',
    );
    expect(other.json().triggers).toEqual([
      {
        workflow_id: 'wf-gh-readme',
        trigger_node_id: 'gh_1',
        enabled: true,
        matched: false,
        reason: 'paths: none of 1 changed file(s) matches *.md',
      },
    ]);
    expect(await count(h, 'events')).toBe(events);
    expect(h.engine.executeCalls()).toHaveLength(0);
    const invalid = await h.api('POST', '/api/v1/github/explain', { event_type: 'push' });
    expect(invalid.statusCode).toBe(400);
  });

  it('documents both routes with their schemas', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths['/api/v1/github/webhook'].post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '413', '415', '503']),
    );
    expect(
      doc.paths['/api/v1/github/explain'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['event_type', 'payload']);
    const types = await h.api('GET', '/api/v1/triggers/types');
    expect(types.body).toContain('GITHUB');
  });
});

describe('GitHub webhook ingress without a secret', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses every delivery with 503 rather than trusting it', async () => {
    const r = await deliver(h, {
      event: 'ping',
      delivery: 'n-1',
      payload: example('ping'),
      secret: 'anything',
    });
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('SCHED_GITHUB_WEBHOOK_NOT_CONFIGURED');
  });
});
