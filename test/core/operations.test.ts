import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDirLock, openPglite } from '../../src/db/pglite.js';
import { AppError } from '../../src/errors.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { interceptQueries } from '../helpers/seams.js';
import { workflowSpec } from '../helpers/workflows.js';

describe('operations', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.api('POST', '/api/v1/deployment/workflows/wf-ops/deploy', {
      workflow_spec: workflowSpec('wf-ops', [
        { id: 'm', subtype: 'MANUAL' },
        { id: 'w', subtype: 'WEBHOOK' },
      ]),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports health', async () => {
    const r = await h.inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ service: 'workflow_scheduler', status: 'healthy' });
    const d = (await h.inject({ method: 'GET', url: '/health/detailed' })).json();
    expect(d.components.database).toMatchObject({ ok: true, dialect: h.db.dialect });
    expect(d.components.lock_manager).toMatchObject({
      ok: true,
      kind: process.env.REDIS_URL ? 'redis' : 'in-process',
    });
    expect(d.components.triggers).toMatchObject({
      MANUAL: { active: 1, total: 1 },
      WEBHOOK: { active: 1, total: 1 },
    });
    expect(d.components.dispatch).toMatchObject({ dead: 0 });
  });

  it('serves the JSON metrics of the design and Prometheus text', async () => {
    await h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-ops', payload: {} });
    const m = (await h.inject({ method: 'GET', url: '/metrics' })).json();
    expect(m).toMatchObject({
      service: 'workflow_scheduler',
      total_workflows: 1,
      total_triggers: 2,
      trigger_types: { MANUAL: 1, WEBHOOK: 1 },
    });
    expect(m.uptime).toBeGreaterThanOrEqual(0);
    expect(m.events.received).toBe(1);
    const p = await h.inject({ method: 'GET', url: '/metrics/prometheus' });
    expect(p.headers['content-type']).toMatch(/text\/plain/);
    expect(p.body).toContain('scheduler_events_received_total{kind="WEBHOOK"} 1');
  });

  it('documents every route with request and response schemas', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, Record<string, { responses?: object }>>);
    expect(routes.length).toBeGreaterThan(15);
    for (const [p, methods] of routes) {
      for (const [method, op] of Object.entries(methods)) {
        expect(
          Object.keys(op.responses ?? {}).length,
          `${method} ${p} has no response schema`,
        ).toBeGreaterThan(0);
      }
    }
    expect(doc.paths['/api/v1/deployment/workflows/{workflow_id}/deploy'].post.requestBody).toBeTruthy();
    const ui = await h.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('answers unknown routes and database outages with catalogued errors', async () => {
    const r = await h.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ statusCode: 404, code: 'SCHED_NOT_FOUND', error: 'Not Found' });
  });
});

describe('database outage', () => {
  it('answers /health 503 and refuses events with 503 when the database is gone', async () => {
    let down = false;
    const refused = () =>
      Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
    const h = await startHarness({
      wrapDb: (real) => {
        const db = interceptQueries(real, (q, text, params) => (down ? refused() : q.query(text, params)));
        return { ...db, tx: (fn) => (down ? refused() : db.tx(fn)) };
      },
    });
    try {
      await h.api('POST', '/api/v1/deployment/workflows/wf-out/deploy', {
        workflow_spec: workflowSpec('wf-out', [{ id: 'w', subtype: 'WEBHOOK' }]),
      });
      down = true;
      const health = await h.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'unhealthy' });
      const ev = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-out', payload: {} });
      expect(ev.statusCode).toBe(503);
      expect(ev.json().code).toBe('SCHED_DATABASE_UNAVAILABLE');
      // Back again: the same process accepts events without a restart.
      down = false;
      expect((await h.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const again = await h.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-out', payload: {} });
      expect(again.statusCode).toBe(202);
    } finally {
      down = false;
      await h.close();
    }
  });
});

describe('embedded database directory lock', () => {
  it('refuses a second process on the same DATA_DIR and takes over a stale lock', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wfs-lock-'));
    try {
      const db = await openPglite({ dataDir: dir });
      // Another live process holds it: our pid counts as live only for a different pid, so use the parent's.
      const { writeFileSync } = await import('node:fs');
      await db.close();
      writeFileSync(path.join(dir, 'scheduler.lock'), `${process.ppid}\n`);
      let err: unknown;
      try {
        acquireDirLock(dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('SCHED_DATA_DIR_LOCKED');
      expect((err as Error).message).toMatch(/in use by process \d+.*DATABASE_URL/);
      // A lock left by a dead process is taken over.
      writeFileSync(path.join(dir, 'scheduler.lock'), '999999\n');
      const release = acquireDirLock(dir);
      release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
