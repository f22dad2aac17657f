import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/triggers/webhook/verify.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const TOKEN = 'token-0123456789-abcdef';

describe('WEBHOOK triggers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { WEBHOOK_BODY_LIMIT_BYTES: '4096' } });
    const spec = workflowSpec('wf-hooks', [
      {
        id: 'open',
        subtype: 'WEBHOOK',
        configurations: { webhook_path: '/webhook/open', allowed_methods: ['POST', 'PUT', 'GET'] },
      },
      {
        id: 'tok',
        subtype: 'WEBHOOK',
        configurations: { webhook_path: '/webhook/tok', authentication: 'header_token', auth_token: TOKEN },
      },
      {
        id: 'sig',
        subtype: 'WEBHOOK',
        configurations: { webhook_path: '/webhook/sig', authentication: 'signature', auth_token: SECRET },
      },
      { id: 'off', subtype: 'WEBHOOK', configurations: { webhook_path: '/webhook/off', enabled: false } },
    ]);
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-hooks/deploy', { workflow_spec: spec });
    expect(r.statusCode, r.body).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  const lastCall = () => h.engine.executeCalls().at(-1)?.body as { trigger_data: Record<string, unknown> };

  it('answers 202 with the event id and delivers a JSON body as JSON', async () => {
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open?source=ci&tag=a&tag=b',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'tester/1',
        'x-forwarded-for': '10.0.0.9',
        authorization: 'Bearer secret',
      },
      payload: { order: { id: 7, items: [1, 2] }, note: 'ü ✓' },
      remoteAddress: '192.0.2.7',
    });
    expect(r.statusCode, r.body).toBe(202);
    const { event_id } = r.json();
    expect(event_id).toMatch(/^[0-9a-f-]{36}$/);
    await h.until(() => h.engine.executeCalls().length > 0);
    const td = lastCall().trigger_data;
    expect(td).toMatchObject({
      trigger_type: 'WEBHOOK',
      method: 'POST',
      path: '/api/v1/public/webhook/open',
      webhook_path: '/webhook/open',
      body: { order: { id: 7, items: [1, 2] }, note: 'ü ✓' },
      query_params: { source: 'ci', tag: ['a', 'b'] },
      client_ip: '192.0.2.7',
      user_agent: 'tester/1',
      content_type: 'application/json',
    });
    expect((td.headers as Record<string, string>).authorization).toBe('[redacted]');
    const ev = (await h.api('GET', `/api/v1/events/${event_id}`)).json();
    expect(ev).toMatchObject({ kind: 'WEBHOOK', matched_count: 1, index_key: '/webhook/open' });
    expect(ev.dispatches[0]).toMatchObject({ workflow_id: 'wf-hooks', trigger_node_id: 'open' });
  });

  it('stores form, text and binary bodies', async () => {
    const form = await h.inject({
      method: 'PUT',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1&b=x+y&a=2',
    });
    const text = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      payload: 'hello\nworld',
    });
    const bin = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from([0, 1, 2, 255]),
    });
    const get = await h.inject({ method: 'GET', url: '/api/v1/public/webhook/open?x=1' });
    for (const r of [form, text, bin, get]) expect(r.statusCode, r.body).toBe(202);
    const payload = async (r: typeof form) =>
      (await h.api('GET', `/api/v1/events/${r.json().event_id}`)).json().payload;
    expect((await payload(form)).body).toEqual({ a: ['1', '2'], b: 'x y' });
    expect((await payload(text)).body).toBe('hello\nworld');
    expect(await payload(bin)).toMatchObject({ body: 'AAEC/w==', body_encoding: 'base64' });
    expect(await payload(get)).toMatchObject({ method: 'GET', body: null, query_params: { x: '1' } });
  });

  it('answers 404 for unknown paths, 405 with Allow for other methods', async () => {
    const unknown = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/nothing-here',
      payload: {},
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('SCHED_WEBHOOK_NOT_FOUND');
    const wrong = await h.inject({ method: 'DELETE', url: '/api/v1/public/webhook/open' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('POST, PUT, GET');
    expect(wrong.json().code).toBe('SCHED_METHOD_NOT_ALLOWED');
    const getOnPostOnly = await h.inject({ method: 'GET', url: '/api/v1/public/webhook/tok' });
    expect(getOnPostOnly.statusCode).toBe(405);
    expect(getOnPostOnly.headers.allow).toBe('POST');
  });

  it('answers 413 above the body limit and 400 for malformed JSON, storing nothing', async () => {
    const countEvents = async () => (await h.api('GET', '/api/v1/events?limit=500')).json().events.length;
    const before = await countEvents();
    const big = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'y'.repeat(5000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('SCHED_BODY_TOO_LARGE');
    const bad = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('SCHED_INVALID_JSON');
    const nul = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/open',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":"\\u0000"}',
    });
    expect(nul.statusCode).toBe(400);
    expect(nul.json().code).toBe('SCHED_UNSUPPORTED_PAYLOAD');
    expect(await countEvents()).toBe(before);
  });

  it('checks a header token in constant time (own header or Bearer)', async () => {
    const missing = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/tok', payload: {} });
    const wrong = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/tok',
      headers: { 'x-webhook-token': `${TOKEN}x` },
      payload: {},
    });
    const right = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/tok',
      headers: { 'x-webhook-token': TOKEN },
      payload: {},
    });
    const bearer = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/tok',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {},
    });
    expect([missing.statusCode, wrong.statusCode, right.statusCode, bearer.statusCode]).toEqual([
      401, 401, 202, 202,
    ]);
    expect(wrong.json()).toMatchObject({
      code: 'SCHED_WEBHOOK_AUTH_FAILED',
      message: 'Webhook authentication failed',
    });
    const stored = (await h.api('GET', `/api/v1/events/${right.json().event_id}`)).json();
    expect(stored.payload.headers['x-webhook-token']).toBe('[redacted]');
  });

  it('verifies Standard Webhooks signatures and dedupes on webhook-id', async () => {
    const body = JSON.stringify({ n: 'ü' });
    const now = Math.floor(Date.now() / 1000);
    const headers = (id: string, ts: number, sig: string) => ({
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': sig,
    });
    const good = signStandardWebhook(SECRET, 'msg_1', now, body);
    const ok = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/sig',
      headers: headers('msg_1', now, `v1,bogus ${good}`),
      payload: body,
    });
    expect(ok.statusCode, ok.body).toBe(202);
    const again = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/sig',
      headers: headers('msg_1', now, good),
      payload: body,
    });
    expect(again.json()).toEqual({ event_id: ok.json().event_id, duplicate: true });
    const tampered = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/sig',
      headers: headers('msg_2', now, signStandardWebhook(SECRET, 'msg_2', now, body)),
      payload: JSON.stringify({ n: 'u' }),
    });
    const stale = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/sig',
      headers: headers('msg_3', now - 400, signStandardWebhook(SECRET, 'msg_3', now - 400, body)),
      payload: body,
    });
    const unsigned = await h.inject({
      method: 'POST',
      url: '/api/v1/public/webhook/sig',
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    expect([tampered.statusCode, stale.statusCode, unsigned.statusCode]).toEqual([401, 401, 401]);
    const dispatched = (await h.api('GET', '/api/v1/dispatches?workflow_id=wf-hooks&limit=1000'))
      .json()
      .dispatches.filter((d: { event_id: string }) => d.event_id === ok.json().event_id);
    expect(dispatched).toHaveLength(1);
  });

  it('refuses a paused webhook with 409', async () => {
    const r = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/off', payload: {} });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('SCHED_TRIGGER_DISABLED');
  });

  it('dedupes concurrent deliveries with the same Idempotency-Key', async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.inject({
          method: 'POST',
          url: '/api/v1/public/webhook/open',
          headers: { 'idempotency-key': 'same-key-1' },
          payload: { i: 1 },
        }),
      ),
    );
    const ids = new Set(rs.map((r) => r.json().event_id));
    expect(ids.size).toBe(1);
    expect(rs.filter((r) => r.json().duplicate === false)).toHaveLength(1);
  });
});
