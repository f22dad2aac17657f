import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.js';
import { deployHook, type Json, post } from './helpers.js';

const API_KEY = 'hil-service-key-0123456789';
const JWT_SECRET = 'hil-jwt-secret-0123456789abcdef0123456789';
const userToken = (sub: string) =>
  new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

describe('human in the loop: the waits API', () => {
  let h: Harness;
  const hour = () => new Date(Date.now() + 3_600_000).toISOString();
  const body = (over: Json = {}): Json => ({
    execution_id: 'exec-1',
    workflow_id: 'wf-api',
    interaction_id: 'i-1',
    kind: 'WEBHOOK',
    match: { 'body.thread_ts': '1700000000.000100' },
    expires_at: hour(),
    ...over,
  });
  const asUser = async (sub: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Json) =>
    h.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${await userToken(sub)}`,
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });

  beforeAll(async () => {
    h = await startHarness({ env: { SCHEDULER_API_KEY: API_KEY, JWT_SECRET } });
    await deployHook(h, 'wf-api', 'api', 'correlated', 'user-1');
    await deployHook(h, 'wf-other', 'other', 'correlated', 'user-2');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('registers once per (execution_id, interaction_id): 201, then 200 with the same wait, 409 if it differs', async () => {
    const first = await h.api('POST', '/api/v1/hil/waits', body({ kind: 'webhook' }));
    expect(first.statusCode, first.body).toBe(201);
    const w = first.json().wait;
    expect(w).toMatchObject({
      execution_id: 'exec-1',
      interaction_id: 'i-1',
      workflow_id: 'wf-api',
      kind: 'WEBHOOK',
      match: { 'body.thread_ts': '1700000000.000100' },
      status: 'open',
      satisfied_by: null,
      last_error: null,
      closed_at: null,
    });
    const again = await h.api(
      'POST',
      '/api/v1/hil/waits',
      body({ expires_at: new Date(Date.now() + 7_200_000).toISOString() }),
    );
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ created: false, wait: { id: w.id, expires_at: w.expires_at } });
    const conflict = await h.api('POST', '/api/v1/hil/waits', body({ match: { 'body.thread_ts': 'other' } }));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'SCHED_HIL_WAIT_CONFLICT', details: { wait_id: w.id } });
  });

  it.each([
    ['missing match', { match: undefined }, 400, 'SCHED_VALIDATION', /match is required/],
    ['unknown field', { extra: 1 }, 400, 'SCHED_VALIDATION', /extra is not a known property/],
    ['empty match', { match: {} }, 400, 'SCHED_VALIDATION', /match/],
    [
      'null value',
      { match: { a: null } },
      400,
      'SCHED_VALIDATION',
      /match\.a must be a string, number or boolean/,
    ],
    ['object value', { match: { a: { b: 1 } } }, 400, 'SCHED_VALIDATION', /match\.a/],
    ['bad path', { match: { 'a..b': 1 } }, 400, 'SCHED_VALIDATION', /not a dotted path/],
    [
      'past expiry',
      { expires_at: new Date(Date.now() - 1000).toISOString() },
      400,
      'SCHED_VALIDATION',
      /expires_at must be in the future/,
    ],
    [
      'expiry beyond 30 days',
      { expires_at: new Date(Date.now() + 31 * 86_400_000).toISOString() },
      400,
      'SCHED_VALIDATION',
      /30 days/,
    ],
    ['not a date', { expires_at: 'tomorrow' }, 400, 'SCHED_VALIDATION', /expires_at/],
    [
      'asked in the future',
      { asked_at: new Date(Date.now() + 3_600_000).toISOString() },
      400,
      'SCHED_VALIDATION',
      /asked_at/,
    ],
    ['unknown kind', { kind: 'FAX' }, 400, 'SCHED_UNKNOWN_TRIGGER_SUBTYPE', /FAX/],
    ['kind that cannot resume', { kind: 'MANUAL' }, 400, 'SCHED_VALIDATION', /MANUAL cannot resume/],
    ['unknown workflow', { workflow_id: 'wf-nope' }, 404, 'SCHED_WORKFLOW_NOT_FOUND', /wf-nope/],
  ])('refuses %s', async (_name, over, status, code, message) => {
    const r = await h.api('POST', '/api/v1/hil/waits', body({ interaction_id: `bad-${_name}`, ...over }));
    expect(r.statusCode, r.body).toBe(status);
    expect(r.json().code).toBe(code);
    expect(r.json().message).toMatch(message);
  });

  it('is for service callers: a user token gets 403, a service acting for another user 404', async () => {
    const r = await asUser('user-1', 'POST', '/api/v1/hil/waits', body({ interaction_id: 'u' }));
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('SCHED_FORBIDDEN');
    const other = await h.api(
      'POST',
      '/api/v1/hil/waits',
      body({ interaction_id: 'x', workflow_id: 'wf-other' }),
      'user-1',
    );
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('SCHED_WORKFLOW_NOT_FOUND');
    expect((await h.inject({ method: 'POST', url: '/api/v1/hil/waits', payload: body() })).statusCode).toBe(
      401,
    );
  });

  it('lists waits scoped to the owner', async () => {
    const theirs = await h.api(
      'POST',
      '/api/v1/hil/waits',
      body({ workflow_id: 'wf-other', execution_id: 'exec-9' }),
      null,
    );
    expect(theirs.statusCode, theirs.body).toBe(201);
    const mine = await asUser('user-1', 'GET', '/api/v1/hil/waits');
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json().waits.map((w: Json) => w.workflow_id)).toEqual(['wf-api']);
    const filtered = await asUser('user-2', 'GET', '/api/v1/hil/waits?workflow_id=wf-api');
    expect(filtered.json().waits).toEqual([]);
    const id = theirs.json().wait.id;
    expect((await asUser('user-1', 'GET', `/api/v1/hil/waits/${id}`)).json().code).toBe(
      'SCHED_HIL_WAIT_NOT_FOUND',
    );
    expect((await asUser('user-2', 'GET', `/api/v1/hil/waits/${id}`)).json().execution_id).toBe('exec-9');
    const all = (await h.api('GET', '/api/v1/hil/waits?status=open', undefined, null)).json().waits;
    expect(all.map((w: Json) => w.workflow_id).sort()).toEqual(['wf-api', 'wf-other']);
    const byExec = (await h.api('GET', '/api/v1/hil/waits?execution_id=exec-9', undefined, null)).json()
      .waits;
    expect(byExec).toHaveLength(1);
    expect((await h.api('GET', '/api/v1/hil/waits?status=waiting', undefined, null)).statusCode).toBe(400);
  });

  it('cancels an open wait (service callers); a cancelled wait takes no answer', async () => {
    const w = (
      await h.api(
        'POST',
        '/api/v1/hil/waits',
        body({ execution_id: 'exec-c', interaction_id: 'c', match: { 'body.ticket': 'C-1' } }),
      )
    ).json().wait;
    expect((await asUser('user-1', 'DELETE', `/api/v1/hil/waits/${w.id}`)).statusCode).toBe(403);
    const r = await h.api('DELETE', `/api/v1/hil/waits/${w.id}`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: 'cancelled' });
    expect(r.json().closed_at).toBeTruthy();
    const twice = await h.api('DELETE', `/api/v1/hil/waits/${w.id}`);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('SCHED_HIL_WAIT_CLOSED');
    const e = await post(h, 'api', { ticket: 'C-1' });
    const d = await h.until(async () => {
      const x = (await h.api('GET', `/api/v1/events/${e}`, undefined, null)).json().dispatches[0];
      return x?.status === 'succeeded' || x?.status === 'dead' ? x : null;
    });
    expect(d).toMatchObject({ status: 'succeeded', resumed: false });
    expect(h.engine.calls.filter((c) => c.path.endsWith('/resume'))).toHaveLength(0);
    expect((await h.api('GET', `/api/v1/hil/waits/${w.id}`)).json().status).toBe('cancelled');
  });

  it('refuses more than 1,000 open waits per workflow', async () => {
    await h.db.query(
      `INSERT INTO hil_waits (id, execution_id, interaction_id, workflow_id, user_id, kind, match, status, expires_at,
         created_at, updated_at)
       SELECT gen_random_uuid(), 'bulk-' || g, 'i', 'wf-other', 'user-2', 'WEBHOOK', '{"a":1}', 'open',
         now() + interval '1 hour', now(), now()
       FROM generate_series(1, 1000) g`,
    );
    const r = await h.api(
      'POST',
      '/api/v1/hil/waits',
      body({ workflow_id: 'wf-other', execution_id: 'one-more' }),
      null,
    );
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('SCHED_HIL_TOO_MANY_WAITS');
  });

  it('documents its routes with schemas in the OpenAPI document', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    const waits = doc.paths['/api/v1/hil/waits'];
    expect(waits.post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining([
        'execution_id',
        'workflow_id',
        'interaction_id',
        'kind',
        'match',
        'expires_at',
      ]),
    );
    expect(Object.keys(waits.post.responses)).toEqual(
      expect.arrayContaining(['200', '201', '400', '403', '409']),
    );
    expect(waits.get.responses['200']).toBeTruthy();
    expect(doc.paths['/api/v1/hil/waits/{id}'].delete).toBeTruthy();
  });
});
