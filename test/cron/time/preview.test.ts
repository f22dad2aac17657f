import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { toAppError } from '../../../src/http/app.js';
import { registerCronPreviewRoute } from '../../../src/triggers/cron/preview.js';
import { type Harness, startHarness } from '../../helpers/harness.js';

const API_KEY = 'preview-test-key-0123456789abcdef';
const clock = new ManualClock('2027-03-13T12:00:00Z');
let h: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  h = await startHarness({
    clock,
    start: false,
    env: { SCHEDULER_API_KEY: API_KEY, SCHEDULER_TIMEZONE: 'America/New_York' },
  });
  // The route alone on a small app with the service's error mapping and request validation options.
  app = Fastify({
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });
  await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 'preview', version: '1' } } });
  app.setErrorHandler((err, _request, reply) => {
    const e = toAppError(err);
    return reply.code(e.statusCode).send(e.toJSON());
  });
  registerCronPreviewRoute(app, h.services);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function preview(query: Record<string, string>, auth = true) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/cron/preview?${new URLSearchParams(query)}`,
    headers: auth ? { authorization: `Bearer ${API_KEY}` } : {},
  });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /api/v1/cron/preview', () => {
  it('lists the next fires in UTC and local time, the description and the DST notes', async () => {
    const { status, body } = await preview({ expression: '30 2 * * *', count: '3' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      expression: '30 2 * * *',
      timezone: 'America/New_York', // SCHEDULER_TIMEZONE
      description: 'At 02:30',
      schedule_type: 'fixed_time',
      dst_policy: { gap: 'shift', overlap: 'first' },
      from: '2027-03-13T12:00:00.000Z', // the injected clock
    });
    expect(body.fires).toEqual([
      {
        utc: '2027-03-14T07:00:00.000Z',
        local: '2027-03-14T03:00:00-04:00',
        offset: '-04:00',
        dst: 'shifted',
      },
      { utc: '2027-03-15T06:30:00.000Z', local: '2027-03-15T02:30:00-04:00', offset: '-04:00' },
      { utc: '2027-03-16T06:30:00.000Z', local: '2027-03-16T02:30:00-04:00', offset: '-04:00' },
    ]);
    expect(body.dst_notes).toHaveLength(1);
    expect(body.dst_notes[0]).toMatchObject({
      at: '2027-03-14T07:00:00.000Z',
      kind: 'gap',
      offset_before: '-05:00',
      offset_after: '-04:00',
      local_times: ['2027-03-14 02:30'],
      effect: 'shifted',
      fires: [{ utc: '2027-03-14T07:00:00.000Z', local: '2027-03-14T03:00:00-04:00', dst: 'shifted' }],
    });
  });

  it('takes from, the zone and the DST policy parameters', async () => {
    const both = await preview({
      expression: '30 1 * * *',
      timezone: 'America/New_York',
      from: '2026-11-01T00:00:00-04:00',
      count: '3',
      dst_overlap: 'both',
    });
    expect(both.status).toBe(200);
    expect(both.body.fires.map((f: { local: string; dst?: string }) => [f.local, f.dst])).toEqual([
      ['2026-11-01T01:30:00-04:00', 'first_occurrence'],
      ['2026-11-01T01:30:00-05:00', 'second_occurrence'],
      ['2026-11-02T01:30:00-05:00', undefined],
    ]);
    expect(both.body.dst_notes[0]).toMatchObject({ kind: 'overlap', effect: 'fired_twice' });

    const skip = await preview({
      expression: '30 2 * * *',
      dst_policy: 'temporal',
      count: '1',
      from: String(Date.parse('2027-03-13T12:00:00Z')),
    });
    expect(skip.body.dst_policy).toEqual({ gap: 'skip', overlap: 'both' });
    expect(skip.body.fires[0].local).toBe('2027-03-15T02:30:00-04:00');

    const utc = await preview({
      expression: '*/20 * * * * *',
      timezone: 'UTC',
      count: '2',
      from: '2027-01-01T00:00:00Z',
    });
    expect(utc.body).toMatchObject({
      description: 'Every 20 seconds',
      schedule_type: 'interval',
      dst_notes: [],
    });
    expect(utc.body.fires.map((f: { local: string }) => f.local)).toEqual([
      '2027-01-01T00:00:20+00:00',
      '2027-01-01T00:00:40+00:00',
    ]);
  });

  it.each<[string, string, string, Record<string, string>]>([
    ['missing expression', 'SCHED_INVALID_CRON', 'expression', {}],
    ['bad expression', 'SCHED_INVALID_CRON', 'expression', { expression: '61 * * * *' }],
    ['never fires', 'SCHED_CRON_NEVER_FIRES', 'expression', { expression: '0 0 30 2 *' }],
    [
      'unknown zone',
      'SCHED_INVALID_TIMEZONE',
      'timezone',
      { expression: '@daily', timezone: 'Mars/Olympus_Mons' },
    ],
    [
      'bad policy name',
      'SCHED_INVALID_DST_POLICY',
      'dst_policy',
      { expression: '@daily', dst_policy: 'sometimes' },
    ],
    ['bad gap', 'SCHED_INVALID_DST_POLICY', 'dst_gap', { expression: '@daily', dst_gap: 'later' }],
    ['bad overlap', 'SCHED_INVALID_DST_POLICY', 'dst_overlap', { expression: '@daily', dst_overlap: 'last' }],
    [
      'from without an offset',
      'SCHED_VALIDATION',
      'from',
      { expression: '@daily', from: '2027-03-14T02:30:00' },
    ],
    ['from not a date', 'SCHED_VALIDATION', 'from', { expression: '@daily', from: 'yesterday' }],
    ['count 0', 'SCHED_VALIDATION', 'querystring.count', { expression: '@daily', count: '0' }],
    ['count 101', 'SCHED_VALIDATION', 'querystring.count', { expression: '@daily', count: '101' }],
    ['unknown parameter', 'SCHED_VALIDATION', 'querystring.cron', { expression: '@daily', cron: 'x' }],
  ])('%s → 400 %s, field %s', async (_name, code, field, query) => {
    const { status, body } = await preview(query);
    expect(status).toBe(400);
    expect(body).toMatchObject({ statusCode: 400, code, details: { field } });
    expect(body.message).toContain(field.replace('querystring.', ''));
  });

  it('needs credentials like every management route', async () => {
    const { status, body } = await preview({ expression: '@daily' }, false);
    expect(status).toBe(401);
    expect(body.code).toBe('SCHED_UNAUTHORIZED');
  });

  it('is described in the OpenAPI document with its parameters', () => {
    const doc = app.swagger() as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    const names = doc.paths['/api/v1/cron/preview']?.get?.parameters?.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'expression',
        'timezone',
        'count',
        'from',
        'dst_policy',
        'dst_gap',
        'dst_overlap',
      ]),
    );
  });

  it('is served by the service itself (the CRON kind registers it)', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/api/v1/cron/preview?expression=0%209%20*%20*%201-5&count=1&timezone=UTC&from=2027-01-01T00:00:00Z',
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      description: 'At 09:00, Monday through Friday',
      fires: [{ utc: '2027-01-01T09:00:00.000Z' }],
    });
  });
});
