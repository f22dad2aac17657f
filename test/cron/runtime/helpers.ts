import type { ChildProcess } from 'node:child_process';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Clock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import type { Db } from '../../../src/db/db.js';
import { buildApp } from '../../../src/http/app.js';
import { createServices, type Services, startServices, stopServices } from '../../../src/services.js';
import { cronRuntimeOf } from '../../../src/triggers/cron/runtime.js';
import type { StubEngine } from '../../../tools/stubEngine.js';
import type { Harness } from '../../helpers/harness.js';
import { spawnService } from '../../helpers/process.js';
import { workflowSpec } from '../../helpers/workflows.js';

/** Deploys a workflow whose only trigger is a CRON node with this configuration. */
export interface Api {
  services?: Services;
  api(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    user?: string,
  ): Promise<LightMyRequestResponse>;
}

export async function deployCron(
  h: Api,
  workflowId: string,
  configurations: Record<string, unknown>,
  opts: { nodeId?: string; user?: string } = {},
): Promise<void> {
  const spec = workflowSpec(workflowId, [{ id: opts.nodeId ?? 'cron_1', subtype: 'CRON', configurations }], {
    createdBy: opts.user ?? 'user-1',
  });
  const r = await h.api(
    'POST',
    `/api/v1/deployment/workflows/${workflowId}/deploy`,
    { workflow_spec: spec },
    opts.user ?? 'user-1',
  );
  if (r.statusCode !== 200) throw new Error(`deploy failed: ${r.statusCode} ${r.body}`);
  // The deploy tells the loop at once, which applies it in the background: wait until it holds the trigger.
  const rt = h.services ? cronRuntimeOf(h.services) : undefined;
  if (rt) await until(() => rt.scheduled(workflowId, opts.nodeId ?? 'cron_1') !== null);
}

export interface FireRow {
  workflow_id: string;
  node_id: string;
  nominal: string;
  source: string;
  outcome: string;
  reason: string | null;
  event_id: string | null;
}

export async function fireRows(h: { db: Db }, workflowId?: string): Promise<FireRow[]> {
  const r = await h.db.query<Record<string, unknown>>(
    `SELECT workflow_id, node_id, nominal_at, source, outcome, reason, event_id FROM cron_fires
     WHERE $1::text IS NULL OR workflow_id = $1 ORDER BY workflow_id, node_id, nominal_at`,
    [workflowId ?? null],
  );
  return r.rows.map((x) => ({
    workflow_id: String(x.workflow_id),
    node_id: String(x.node_id),
    nominal: new Date(x.nominal_at as string).toISOString(),
    source: String(x.source),
    outcome: String(x.outcome),
    reason: (x.reason as string | null) ?? null,
    event_id: (x.event_id as string | null) ?? null,
  }));
}

/** The nominal times (UTC ISO) of the executions the stub engine started for a workflow. */
export function engineFires(
  h: { engine: StubEngine },
  workflowId: string,
): { scheduled: string; data: Record<string, unknown> }[] {
  return h.engine
    .executeCalls()
    .filter((c) => c.path === `/v2/workflows/${workflowId}/execute`)
    .map((c) => {
      const data = (c.body as { trigger_data: Record<string, unknown> }).trigger_data;
      return { scheduled: String(data.scheduled_time_utc), data };
    });
}

/** Lets the loop's background work (claims, ingest, delivery) finish after the clock moved. */
export async function settle(
  h: Harness,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  await h.until(check, timeoutMs);
}

/** A service instance over an existing database: stop one and start another to model a restart. */
export interface Node extends Api {
  services: Services;
  app: FastifyInstance;
  stop(): Promise<void>;
}

export async function startNode(o: {
  db: Db;
  schema: string;
  engineUrl: string;
  clock: Clock;
  env?: Record<string, string>;
}): Promise<Node> {
  const config = loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKFLOW_ENGINE_URL: o.engineUrl,
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_SCHEMA: o.schema,
    REDIS_URL: process.env.REDIS_URL,
    ENGINE_TIMEOUT_MS: '2000',
    // Fresh dispatches are handed over in-process; polling only adds manual-clock work here.
    DISPATCH_POLL_INTERVAL_MS: '60000',
    ...o.env,
  });
  const services = await createServices(config, { db: o.db, clock: o.clock });
  await startServices(services);
  running.add(services);
  const app = await buildApp(services);
  await app.ready();
  return {
    services,
    app,
    api: (method, url, body, user = 'user-1') =>
      app.inject({
        method,
        url,
        headers: { 'x-user-id': user, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    async stop() {
      running.delete(services);
      await app.close();
      await stopServices(services, { closeDb: false });
    },
  };
}

/** Nodes started and not stopped: a timed-out `until` says what their dispatchers held. */
const running = new Set<Services>();

export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) {
      const held = [...running].map((s) => ({ dispatcher: s.dispatcher.stats(), cron: s.runtimes.health() }));
      throw new Error(`condition not met within ${timeoutMs} ms (nodes: ${JSON.stringify(held)})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * until, moving a manual clock along by stepMs per check, as real time would: work that waits on the clock
 * (a retry back-off, a deferred claim) completes, and the check still fails if it never happens.
 */
export async function untilMoving<T>(
  clock: { advance(ms: number): Promise<void> },
  fn: () => T | Promise<T>,
  stepMs = 100,
): Promise<NonNullable<T>> {
  return until(async () => {
    const v = await fn();
    if (!v) await clock.advance(stepMs);
    return v;
  });
}

/** Loosely typed JSON answer (tests read paths they know). */
// biome-ignore lint/suspicious/noExplicitAny: test-only view of JSON answers
export type ApiJson = any;

/** A real service process (`node --import tsx src/main.ts`), for multi-replica and crash tests. */
export interface Proc {
  proc: ChildProcess;
  url: string;
  instance: string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  api(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: ApiJson }>;
}

export async function spawnScheduler(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<Proc> {
  const svc = await spawnService(env, timeoutMs);
  // The loop restores its schedules before the service says it is ready, so the line is there already.
  const instance = /"instance":"([^"]+)".*"msg":"cron: schedules restored"/.exec(svc.output())?.[1];
  if (!instance) {
    await svc.kill();
    throw new Error(`no cron restore line before ready:\n${svc.output()}`);
  }
  const { proc, url } = svc;
  return {
    proc,
    url,
    instance,
    output: svc.output,
    async kill(signal = 'SIGKILL') {
      await svc.kill(signal);
    },
    async api(method, p, body) {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: {
          'x-user-id': 'user-1',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
  };
}
