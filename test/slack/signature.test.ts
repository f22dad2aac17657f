import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { signSlackRequest, verifySlackSignature } from '../../src/triggers/slack/verify.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { APP, envelope, message, SECRET, signed } from './helpers/envelopes.js';

// Slack's documented example ("Verifying requests from Slack", api.slack.com/authentication/verifying-requests-from-slack).
const DOC_TS = 1531420618;
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const headers = (ts: number | string, sig: string) => ({
  'x-slack-request-timestamp': String(ts),
  'x-slack-signature': sig,
});

describe('verifySlackSignature', () => {
  const body = Buffer.from(DOC_BODY);

  it("accepts Slack's documented example at its own time (injected clock)", () => {
    expect(signSlackRequest(SECRET, DOC_TS, DOC_BODY)).toBe(DOC_SIG);
    expect(verifySlackSignature(SECRET, headers(DOC_TS, DOC_SIG), body, DOC_TS * 1000)).toEqual({ ok: true });
  });

  it.each([
    ['300 s late', 300, true],
    ['300 s early', -300, true],
    ['301 s late', 301, false],
    ['301 s early', -301, false],
  ])('window: a timestamp %s', (_name, offsetS, ok) => {
    const r = verifySlackSignature(SECRET, headers(DOC_TS, DOC_SIG), body, (DOC_TS + offsetS) * 1000);
    expect(r.ok).toBe(ok);
  });

  it('rejects a tampered body, secret, timestamp or signature', () => {
    const now = DOC_TS * 1000;
    const tampered = Buffer.from(DOC_BODY.replace('roadrunner', 'wile_e_coyote'));
    expect(verifySlackSignature(SECRET, headers(DOC_TS, DOC_SIG), tampered, now)).toMatchObject({
      ok: false,
    });
    expect(verifySlackSignature(`${SECRET}x`, headers(DOC_TS, DOC_SIG), body, now)).toMatchObject({
      ok: false,
    });
    expect(verifySlackSignature(SECRET, headers(DOC_TS + 1, DOC_SIG), body, now)).toMatchObject({
      ok: false,
    });
    const flipped = `${DOC_SIG.slice(0, -1)}${DOC_SIG.endsWith('3') ? '4' : '3'}`;
    expect(verifySlackSignature(SECRET, headers(DOC_TS, flipped), body, now)).toMatchObject({ ok: false });
  });

  it('rejects other versions, short or non-hex signatures and odd timestamps without throwing', () => {
    const now = DOC_TS * 1000;
    for (const sig of [
      DOC_SIG.replace('v0=', 'v1='),
      'v0=abcd',
      `${DOC_SIG}00`,
      'v0=' + 'z'.repeat(64),
      '',
    ]) {
      expect(verifySlackSignature(SECRET, headers(DOC_TS, sig), body, now).ok).toBe(false);
    }
    for (const t of ['', 'abc', '1531420618.5', '-1531420618', '1e9']) {
      expect(verifySlackSignature(SECRET, headers(t, DOC_SIG), body, now).ok).toBe(false);
    }
    expect(verifySlackSignature(SECRET, {}, body, now)).toEqual({
      ok: false,
      reason: 'signature headers missing',
    });
  });

  it('accepts an upper-case hex signature (same bytes)', () => {
    const upper = `v0=${DOC_SIG.slice(3).toUpperCase()}`;
    expect(verifySlackSignature(SECRET, headers(DOC_TS, upper), body, DOC_TS * 1000).ok).toBe(true);
  });
});

describe('Slack ingress verification', () => {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const nowS = () => Math.floor(clock.now() / 1000);
  let h: Harness;
  let open: Harness;

  beforeAll(async () => {
    h = await startHarness({ clock, env: { SLACK_SIGNING_SECRET: SECRET, SLACK_APP_ID: APP } });
    open = await startHarness({ clock });
  });
  afterAll(async () => {
    await h?.close();
    await open?.close();
  });

  const post = (harness: Harness, url: string, req: { headers: Record<string, string>; payload: string }) =>
    harness.inject({ method: 'POST', url, headers: req.headers, payload: req.payload });

  it('answers a signed url_verification with its challenge', async () => {
    const body = JSON.stringify({
      token: 'x',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const r = await post(h, '/api/v1/slack/events', signed(body, nowS()));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('refuses an unsigned (or wrongly signed) challenge with one opaque 401', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'c', type: 'url_verification' });
    const unsigned = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/events',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json().code).toBe('SCHED_SLACK_SIGNATURE_INVALID');
    const req = signed(body, nowS());
    const tampered = await post(h, '/api/v1/slack/events', { ...req, payload: body.replace('"c"', '"d"') });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().message).toBe(unsigned.json().message);
  });

  it('refuses timestamps 301 s away in either direction and accepts 300 s', async () => {
    const body = JSON.stringify({ challenge: 'c', type: 'url_verification' });
    for (const [offset, status] of [
      [301, 401],
      [-301, 401],
      [300, 200],
      [-300, 200],
    ] as const) {
      const r = await post(h, '/api/v1/slack/events', signed(body, nowS() + offset));
      expect(r.statusCode, `offset ${offset}`).toBe(status);
    }
  });

  it('verifies the raw bytes: a re-serialised body with the same JSON meaning fails', async () => {
    const body = JSON.stringify(envelope(message({ text: 'caf\u00e9 \u{1F600} a/b' })), null, 1);
    const req = signed(body, nowS());
    const ok = await post(h, '/api/v1/slack/events', req);
    expect(ok.statusCode, ok.body).toBe(200);
    const reserialised = JSON.stringify(JSON.parse(body));
    const bad = await post(h, '/api/v1/slack/events', { ...req, payload: reserialised });
    expect(bad.statusCode).toBe(401);
  });

  it('answers ssl_check with 200 and stores nothing', async () => {
    const before = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    const r = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/events',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'ssl_check=1&token=x',
    });
    expect(r.statusCode).toBe(200);
    const after = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('refuses every request with a code when no signing secret is configured', async () => {
    const body = JSON.stringify({ challenge: 'c', type: 'url_verification' });
    for (const url of ['/api/v1/slack/events', '/api/v1/slack/interactive']) {
      const r = await post(open, url, signed(body, nowS()));
      expect(r.statusCode).toBe(503);
      expect(r.json().code).toBe('SCHED_SLACK_NOT_CONFIGURED');
    }
  });

  it('refuses events of another app when SLACK_APP_ID is set, asking Slack not to retry', async () => {
    const body = JSON.stringify(envelope(message(), { app: 'A0OTHERAPP' }));
    const r = await post(h, '/api/v1/slack/events', signed(body, nowS()));
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('SCHED_SLACK_APP_MISMATCH');
    expect(r.headers['x-slack-no-retry']).toBe('1');
  });

  it('refuses an unsigned interaction and a signed one without payload', async () => {
    const body = 'payload=%7B%7D';
    const unsigned = await h.inject({
      method: 'POST',
      url: '/api/v1/slack/interactive',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    expect(unsigned.statusCode).toBe(401);
    const empty = await post(
      h,
      '/api/v1/slack/interactive',
      signed('x=1', nowS(), {}, 'application/x-www-form-urlencoded'),
    );
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ code: 'SCHED_VALIDATION', details: { field: 'payload' } });
  });

  it('answers a body over SLACK_BODY_LIMIT_BYTES with 413', async () => {
    const body = JSON.stringify(envelope(message({ text: 'x'.repeat(600_000) })));
    const r = await post(h, '/api/v1/slack/events', signed(body, nowS()));
    expect(r.statusCode).toBe(413);
  });
});
