import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { workflowSpec } from '../helpers/workflows.js';

const API_KEY = 'service-key-0123456789abcdef';
const JWT_SECRET = 'jwt-secret-0123456789abcdef0123456789';
const hs = (claims: Record<string, unknown>, opts: { exp?: string | number; alg?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setIssuedAt()
    .setIssuer('https://issuer.test')
    .setAudience('authenticated')
    .setExpirationTime(opts.exp ?? '5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

describe('authentication and ownership', () => {
  let h: Harness;
  let jwks: Server;
  let es: Awaited<ReturnType<typeof generateKeyPair>>;
  beforeAll(async () => {
    es = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(es.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    h = await startHarness({
      env: {
        SCHEDULER_API_KEY: API_KEY,
        JWT_SECRET,
        JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        JWT_ISSUER: 'https://issuer.test',
        JWT_AUDIENCE: 'authenticated',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    jwks?.close();
  });

  const call = (
    token: string | undefined,
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ) =>
    h.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...extra,
      },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });

  it('refuses requests without valid credentials with one opaque 401', async () => {
    const expired = await hs(
      { sub: 'alice', role: 'authenticated' },
      { exp: Math.floor(Date.now() / 1000) - 120 },
    );
    const wrongIssuer = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://evil.test')
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const anon = await hs({ role: 'anon' });
    const serviceRole = await hs({ sub: 'x', role: 'service_role' });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`;
    for (const token of [
      undefined,
      'garbage',
      'wrong-key-0123456789abcdef',
      expired,
      wrongIssuer,
      anon,
      serviceRole,
      unsigned,
    ]) {
      const r = await call(token, 'GET', '/api/v1/deployment/workflows');
      expect(r.statusCode, String(token)).toBe(401);
      expect(r.json().code).toBe('SCHED_UNAUTHORIZED');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('accepts HS256 user tokens and ES256 tokens from the JWKS, with pinned algorithms', async () => {
    const alice = await hs({ sub: 'alice', role: 'authenticated' });
    expect((await call(alice, 'GET', '/api/v1/deployment/workflows')).statusCode).toBe(200);
    const bob = await new SignJWT({ sub: 'bob' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://issuer.test')
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(es.privateKey);
    expect((await call(bob, 'GET', '/api/v1/deployment/workflows')).statusCode).toBe(200);
    // HS384 is not on the allow-list even though the secret would verify it.
    const hs384 = await hs({ sub: 'alice' }, { alg: 'HS384' });
    expect((await call(hs384, 'GET', '/api/v1/deployment/workflows')).statusCode).toBe(401);
  });

  it('lets a user see and trigger only their own workflows', async () => {
    const alice = await hs({ sub: 'alice', role: 'authenticated' });
    const bob = await hs({ sub: 'bob', role: 'authenticated' });
    const spec = workflowSpec('wf-alice', [{ id: 'm', subtype: 'MANUAL' }], { createdBy: 'mallory' });
    const dep = await call(alice, 'POST', '/api/v1/deployment/workflows/wf-alice/deploy', {
      workflow_spec: spec,
    });
    expect(dep.statusCode, dep.body).toBe(200);
    // The acting user owns it, not metadata.created_by.
    expect((await call(alice, 'GET', '/api/v1/deployment/workflows/wf-alice/status')).json().owner).toBe(
      'alice',
    );
    for (const [method, url] of [
      ['GET', '/api/v1/deployment/workflows/wf-alice/status'],
      ['GET', '/api/v1/deployment/workflows/wf-alice/history'],
      ['POST', '/api/v1/triggers/workflows/wf-alice/manual'],
      ['POST', '/api/v1/deployment/workflows/wf-alice/undeploy'],
    ] as const) {
      const r = await call(bob, method, url, method === 'POST' ? {} : undefined);
      expect(r.statusCode, url).toBe(404);
    }
    expect((await call(bob, 'GET', '/api/v1/deployment/workflows')).json().workflows).toHaveLength(0);
    expect((await call(alice, 'POST', '/api/v1/triggers/workflows/wf-alice/manual', {})).statusCode).toBe(
      200,
    );
    // A user cannot act for someone else through X-User-Id.
    expect(
      (
        await call(bob, 'GET', '/api/v1/deployment/workflows/wf-alice/status', undefined, {
          'x-user-id': 'alice',
        })
      ).statusCode,
    ).toBe(404);
  });

  it('lets the service caller act for a user named in X-User-Id, or for everyone', async () => {
    const asAlice = await call(API_KEY, 'GET', '/api/v1/deployment/workflows/wf-alice/status', undefined, {
      'x-user-id': 'alice',
    });
    expect(asAlice.statusCode).toBe(200);
    const asCarol = await call(API_KEY, 'GET', '/api/v1/deployment/workflows/wf-alice/status', undefined, {
      'x-user-id': 'carol',
    });
    expect(asCarol.statusCode).toBe(404);
    const all = await call(API_KEY, 'GET', '/api/v1/deployment/workflows');
    expect(all.json().workflows.map((w: { workflow_id: string }) => w.workflow_id)).toContain('wf-alice');
    const bad = await call(API_KEY, 'GET', '/api/v1/deployment/workflows', undefined, {
      'x-user-id': 'bad id with spaces',
    });
    expect(bad.statusCode).toBe(400);
  });

  it('keeps public and operational routes open', async () => {
    expect((await h.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await h.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    expect(
      (await h.inject({ method: 'POST', url: '/api/v1/public/webhook/none', payload: {} })).statusCode,
    ).toBe(404);
  });
});
