import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StubEngine } from '../../tools/stubEngine.js';
import { type Harness, startHarness, usingPostgres } from '../helpers/harness.js';
import { runServiceExpectingFailure, type ServiceProcess, spawnService } from '../helpers/process.js';
import { workflowSpec } from '../helpers/workflows.js';

const freePort = async () => {
  const e = new StubEngine();
  const url = await e.start();
  await e.stop();
  return Number(new URL(url).port);
};

/** Storage for a service process: a fresh data directory (PGlite) or a fresh schema (PostgreSQL). */
function storage(): { env: Record<string, string>; cleanup: () => Promise<void> } {
  if (usingPostgres) {
    const schema = `crash_${randomBytes(4).toString('hex')}`;
    return {
      env: { DATABASE_URL: process.env.DATABASE_URL!, DATABASE_SCHEMA: schema },
      cleanup: async () => {
        const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'wfs-crash-'));
  return { env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('durability', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it('delivers every acknowledged event exactly once after SIGKILL and restart', async () => {
    const engine = new StubEngine();
    const enginePort = await freePort();
    const store = storage();
    cleanups.push(store.cleanup, () => engine.stop());
    const env = {
      ...store.env,
      WORKFLOW_ENGINE_URL: `http://127.0.0.1:${enginePort}`,
      DISPATCH_BACKOFF_BASE_MS: '100',
      DISPATCH_BACKOFF_CAP_MS: '300',
      // Enough attempts that a slow, loaded run never dead-letters an event before the kill: this test is
      // about the crash, not the retry budget.
      DISPATCH_MAX_ATTEMPTS: '100',
      DISPATCH_POLL_INTERVAL_MS: '100',
      DISPATCH_LEASE_MS: '3000',
      ENGINE_TIMEOUT_MS: '1000',
    };
    let svc: ServiceProcess = await spawnService(env);
    cleanups.push(() => svc.kill());
    const headers = { 'content-type': 'application/json', 'x-user-id': 'u1' };
    const dep = await fetch(`${svc.url}/api/v1/deployment/workflows/wf-crash/deploy`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ workflow_spec: workflowSpec('wf-crash', [{ id: 'hook', subtype: 'WEBHOOK' }]) }),
    });
    expect(dep.status).toBe(200);
    // The engine is down: every event is acknowledged but none can be dispatched yet.
    const acked: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${svc.url}/api/v1/public/webhook/wf-crash`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ i }),
      });
      expect(r.status).toBe(202);
      acked.push(((await r.json()) as { event_id: string }).event_id);
    }
    expect(await svc.kill('SIGKILL')).toBeNull();
    await engine.start(enginePort);
    svc = await spawnService(env);
    await until(() => engine.keyCounts.size >= 60, 60_000, '60 deliveries');
    await new Promise((r) => setTimeout(r, 500));
    expect(engine.keyCounts.size).toBe(60);
    expect(engine.duplicateKeys()).toEqual([]);
    const delivered = engine
      .executeCalls()
      .map((c) => (c.body as { trigger_data: { body: { i: number } } }).trigger_data.body.i);
    expect(new Set(delivered).size).toBe(60);
    const ev = await fetch(`${svc.url}/api/v1/events?workflow_id=wf-crash&limit=100`, { headers });
    const events = ((await ev.json()) as { events: { id: string; dispatches: { status: string }[] }[] })
      .events;
    expect(events.map((e) => e.id).sort()).toEqual([...acked].sort());
    await until(
      async () => {
        const r = await fetch(`${svc.url}/api/v1/events?workflow_id=wf-crash&limit=100`, { headers });
        const list = ((await r.json()) as { events: { dispatches: { status: string }[] }[] }).events;
        return list.every((e) => e.dispatches[0]?.status === 'succeeded');
      },
      10_000,
      'every dispatch succeeded',
    );
  }, 180_000);

  it('stops gracefully on SIGTERM (exit 0) and refuses a second process on the same data directory', async () => {
    const store = storage();
    cleanups.push(store.cleanup);
    const svc = await spawnService({ ...store.env, WORKFLOW_ENGINE_URL: 'http://127.0.0.1:9' });
    cleanups.push(() => svc.kill());
    if (!usingPostgres) {
      const second = await runServiceExpectingFailure({ ...store.env });
      expect(second.code).toBe(1);
      expect(second.output).toMatch(/SCHED_DATA_DIR_LOCKED: DATA_DIR .* is in use by process \d+/);
    }
    expect(await svc.kill('SIGTERM')).toBe(0);
    expect(svc.output()).toContain('"msg":"stopped"');
  }, 60_000);

  it('stops start-up with one line naming an invalid variable', async () => {
    const r = await runServiceExpectingFailure({ PORT: 'abc' });
    expect(r.code).toBe(78);
    expect(r.output.trim()).toMatch(/^workflow-scheduler: invalid configuration: PORT: .+$/);
  }, 30_000);
});

describe('engine outage', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('accepts 200 events while the engine is down and delivers each exactly once when it is back', async () => {
    // Slow enough back-off that no dispatch runs out of attempts while the engine is away, even on a busy machine.
    h = await startHarness({
      env: { DISPATCH_MAX_ATTEMPTS: '100', DISPATCH_BACKOFF_BASE_MS: '200', DISPATCH_BACKOFF_CAP_MS: '1000' },
    });
    const r = await h.api('POST', '/api/v1/deployment/workflows/wf-outage/deploy', {
      workflow_spec: workflowSpec('wf-outage', [{ id: 'hook', subtype: 'WEBHOOK' }]),
    });
    expect(r.statusCode).toBe(200);
    const port = Number(new URL(h.engine.url).port);
    await h.engine.stop();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        h!.inject({ method: 'POST', url: '/api/v1/public/webhook/wf-outage', payload: { i } }),
      ),
    );
    expect(results.every((x) => x.statusCode === 202)).toBe(true);
    await h.until(async () => {
      const d = (await h!.inject({ method: 'GET', url: '/health/detailed' })).json().components.dispatch;
      return d.pending + d.in_flight === 200 ? d : null;
    }, 30_000);
    expect(h.engine.keyCounts.size).toBe(0);
    await h.engine.start(port);
    await h.until(() => h!.engine.keyCounts.size === 200, 30_000);
    await h.until(
      async () =>
        (await h!.inject({ method: 'GET', url: '/health/detailed' })).json().components.dispatch.pending ===
        0,
    );
    expect(h.engine.duplicateKeys()).toEqual([]);
    expect(h.engine.executeCalls()).toHaveLength(200);
  }, 60_000);
});
