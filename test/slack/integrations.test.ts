import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { decodeCredentialsKey, decryptField, encryptField } from '../../src/integrations/crypto.js';
import { CredentialStore, getCredential } from '../../src/integrations/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const KEY_HEX = 'f'.repeat(64);
const TOKEN = 'xoxb-1234567890-abcdefghijklmnopqrstuvwx';

describe('CREDENTIALS_KEY format', () => {
  it.each([
    ['hex', '0123456789abcdef'.repeat(4)],
    ['base64', Buffer.alloc(32, 9).toString('base64')],
    ['base64url', Buffer.alloc(32, 250).toString('base64url')],
  ])('accepts 32 bytes as %s', (_n, key) => {
    expect(decodeCredentialsKey(loadConfig({ CREDENTIALS_KEY: key }).credentialsKey)).toHaveLength(32);
  });

  it.each([
    ['short', 'abc'],
    ['31 bytes', Buffer.alloc(31).toString('base64')],
    ['hex of 16 bytes', 'ab'.repeat(16)],
  ])('refuses %s, naming the variable without echoing it', (_n, key) => {
    expect(() => loadConfig({ CREDENTIALS_KEY: key })).toThrow(/^CREDENTIALS_KEY: must be 32 bytes/);
    try {
      loadConfig({ CREDENTIALS_KEY: key });
    } catch (err) {
      expect((err as Error).message).not.toContain(key);
    }
  });
});

describe('field encryption', () => {
  const key = Buffer.alloc(32, 1);
  it('round-trips, uses a fresh IV each time, and binds the ciphertext to its row and field', () => {
    const a = encryptField(key, TOKEN, 'u1\u0000slack\u0000access_token');
    const b = encryptField(key, TOKEN, 'u1\u0000slack\u0000access_token');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^gcm1:/);
    expect(decryptField(key, a, 'u1\u0000slack\u0000access_token')).toBe(TOKEN);
    expect(() => decryptField(key, a, 'u2\u0000slack\u0000access_token')).toThrow();
    expect(() => decryptField(Buffer.alloc(32, 2), a, 'u1\u0000slack\u0000access_token')).toThrow();
    const [p, iv, tag, ct] = a.split(':');
    expect(() =>
      decryptField(key, [p, iv, tag!.slice(0, 8), ct].join(':'), 'u1\u0000slack\u0000access_token'),
    ).toThrow();
  });
});

describe('integration credentials API', () => {
  let h: Harness;
  let keyless: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CREDENTIALS_KEY: KEY_HEX } });
    keyless = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
    await keyless?.close();
  });

  it('stores a token encrypted at rest and never returns it', async () => {
    const put = await h.api(
      'PUT',
      '/api/v1/integrations/slack',
      {
        access_token: TOKEN,
        refresh_token: 'xoxe-1-refresh',
        scope: 'channels:read,chat:write',
        credential_data: { team_id: 'T0TEAMAAA1', bot_user_id: 'U0BOT' },
      },
      'user-1',
    );
    expect(put.statusCode, put.body).toBe(201);
    expect(put.body).not.toContain('xox');
    expect(put.json()).toMatchObject({
      provider: 'slack',
      integration_id: 'slack',
      user_id: 'user-1',
      has_access_token: true,
      has_refresh_token: true,
      credential_data: { team_id: 'T0TEAMAAA1' },
    });
    const raw = await h.db.query('SELECT * FROM oauth_tokens');
    const dump = JSON.stringify(raw.rows);
    expect(dump).not.toContain(TOKEN);
    expect(dump).not.toContain('xoxe-1-refresh');
    expect(dump).not.toContain(KEY_HEX);
    const get = await h.api('GET', '/api/v1/integrations/slack', undefined, 'user-1');
    expect(get.statusCode).toBe(200);
    expect(get.body).not.toContain('xox');
    const list = await h.api('GET', '/api/v1/integrations', undefined, 'user-1');
    expect(list.json().integrations).toHaveLength(1);
  });

  it('getCredential decrypts for other kinds; other users see nothing', async () => {
    const c = await getCredential(h.services, 'user-1', 'slack');
    expect(c).toMatchObject({
      accessToken: TOKEN,
      refreshToken: 'xoxe-1-refresh',
      credentialData: { team_id: 'T0TEAMAAA1' },
    });
    expect(await getCredential(h.services, 'user-2', 'slack')).toBeNull();
    const other = await h.api('GET', '/api/v1/integrations/slack', undefined, 'user-2');
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('SCHED_INTEGRATION_NOT_FOUND');
  });

  it('replaces on a second PUT (200) and keeps other secrets encrypted', async () => {
    const r = await h.api(
      'PUT',
      '/api/v1/integrations/imap',
      {
        secrets: { password: 'hunter2-imap' },
        credential_data: { username: 'me@example.com', host: 'imap.example.com' },
      },
      'user-1',
    );
    expect(r.statusCode, r.body).toBe(201);
    const again = await h.api(
      'PUT',
      '/api/v1/integrations/imap',
      { secrets: { password: 'hunter3-imap' }, credential_data: { username: 'me@example.com' } },
      'user-1',
    );
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      has_secrets: true,
      has_access_token: false,
      integration_id: 'imap',
    });
    expect(JSON.stringify((await h.db.query('SELECT * FROM oauth_tokens')).rows)).not.toContain('hunter');
    expect((await getCredential(h.services, 'user-1', 'imap'))?.secrets).toEqual({
      password: 'hunter3-imap',
    });
  });

  it('refuses secrets in credential_data, a missing token, unknown providers, and a service call without X-User-Id', async () => {
    const secretish = await h.api(
      'PUT',
      '/api/v1/integrations/google',
      { access_token: 'ya29.x', credential_data: { email: 'a@b.c', id_token: 'eyJ' } },
      'user-1',
    );
    expect(secretish.statusCode).toBe(400);
    expect(secretish.json()).toMatchObject({
      code: 'SCHED_VALIDATION',
      details: { field: 'body.credential_data.id_token' },
    });
    const noToken = await h.api('PUT', '/api/v1/integrations/slack', { credential_data: {} }, 'user-1');
    expect(noToken.json()).toMatchObject({
      code: 'SCHED_VALIDATION',
      details: { field: 'body.access_token' },
    });
    const unknown = await h.api('PUT', '/api/v1/integrations/notion', { access_token: 'x' }, 'user-1');
    expect(unknown.statusCode).toBe(400);
    const anonymous = await h.api('GET', '/api/v1/integrations/slack', undefined, null);
    expect(anonymous.json()).toMatchObject({ code: 'SCHED_VALIDATION', details: { field: 'X-User-Id' } });
  });

  it('without CREDENTIALS_KEY nothing is stored (a clear code), and reading is refused', async () => {
    const r = await keyless.api('PUT', '/api/v1/integrations/slack', { access_token: TOKEN }, 'user-1');
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('SCHED_CREDENTIALS_KEY_MISSING');
    expect((await keyless.db.query('SELECT 1 FROM oauth_tokens')).rows).toHaveLength(0);
    // The database refuses clear text even if code tried to write it.
    await expect(
      keyless.db.query(
        `INSERT INTO oauth_tokens (id, user_id, provider, integration_id, access_token_enc, key_id, created_at, updated_at)
         VALUES (gen_random_uuid(), 'u', 'slack', 'slack', $1, 'k', now(), now())`,
        [TOKEN],
      ),
    ).rejects.toThrow();
  });

  it('a changed key makes stored credentials unreadable with a clear code', async () => {
    const rotated = new CredentialStore({
      db: h.db,
      clock: h.services.clock,
      credentialsKey: 'e'.repeat(64),
    });
    await expect(rotated.get('user-1', 'slack')).rejects.toMatchObject({
      code: 'SCHED_CREDENTIALS_UNREADABLE',
      message: expect.stringContaining('CREDENTIALS_KEY changed'),
    });
  });

  it('DELETE removes the credential', async () => {
    const d = await h.api('DELETE', '/api/v1/integrations/slack', undefined, 'user-1');
    expect(d.json()).toEqual({ provider: 'slack', deleted: true });
    expect((await h.api('DELETE', '/api/v1/integrations/slack', undefined, 'user-1')).statusCode).toBe(404);
    expect(await getCredential(h.services, 'user-1', 'slack')).toBeNull();
  });
});
