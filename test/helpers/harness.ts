import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/db.js';
import { openPglite } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';
import { buildApp } from '../../src/http/app.js';
import { createServices, type Services, startServices, stopServices } from '../../src/services.js';
import { type StubBehaviour, StubEngine } from '../../tools/stubEngine.js';

/**
 * A whole service on a fresh database: PGlite in memory by default, or a schema of its own on the
 * PostgreSQL named by DATABASE_URL (dropped afterwards only if the test file passed, to keep evidence),
 * with a stand-in engine on a loopback port.
 */
export interface Harness {
  app: FastifyInstance;
  services: Services;
  engine: StubEngine;
  db: Db;
  schema: string;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  /** JSON request as a service caller acting for `user` (open mode: X-User-Id). */
  api(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    user?: string | null,
  ): Promise<LightMyRequestResponse>;
  /** Waits until fn returns truthy (polling real time; used for background delivery). */
  until<T>(fn: () => T | Promise<T>, timeoutMs?: number): Promise<NonNullable<T>>;
  close(opts?: { keepSchema?: boolean }): Promise<void>;
}

export const usingPostgres = Boolean(process.env.DATABASE_URL);

export async function openTestDb(): Promise<{ db: Db; schema: string; drop: () => Promise<void> }> {
  const schema = `t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  if (!usingPostgres) {
    const db = await openPglite({});
    return { db, schema: 'public', drop: async () => {} };
  }
  const url = process.env.DATABASE_URL!;
  const db = await openPostgres({ url, schema, poolSize: 10 });
  return {
    db,
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function startHarness(
  opts: {
    env?: Record<string, string>;
    clock?: Clock;
    engine?: Partial<StubBehaviour>;
    start?: boolean;
    /** Wraps the database (tests inject failure points this way, never by mocking repositories). */
    wrapDb?: (db: Db) => Db;
  } = {},
): Promise<Harness> {
  const engine = new StubEngine(opts.engine);
  await engine.start();
  const opened = await openTestDb();
  const { schema, drop } = opened;
  const db = opts.wrapDb ? opts.wrapDb(opened.db) : opened.db;
  const config = loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKFLOW_ENGINE_URL: engine.url,
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: process.env.REDIS_URL,
    DISPATCH_BACKOFF_BASE_MS: '50',
    DISPATCH_BACKOFF_CAP_MS: '200',
    DISPATCH_POLL_INTERVAL_MS: '50',
    ENGINE_TIMEOUT_MS: '2000',
    MANUAL_WAIT_MS: '3000',
    ...opts.env,
  });
  const services = await createServices(config, { db, ...(opts.clock ? { clock: opts.clock } : {}) });
  if (opts.start !== false) await startServices(services);
  const app = await buildApp(services);
  await app.ready();
  const h: Harness = {
    app,
    services,
    engine,
    db,
    schema,
    inject: (o) => app.inject(o),
    api(method, url, body, user = 'user-1') {
      return app.inject({
        method,
        url,
        headers: {
          ...(user ? { 'x-user-id': user } : {}),
          ...(config.auth.apiKey ? { authorization: `Bearer ${config.auth.apiKey}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    },
    async until(fn, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn();
        if (v) return v as NonNullable<typeof v>;
        if (Date.now() > deadline)
          // The dispatcher's state says whether work was stuck in memory, in flight, or never arrived.
          throw new Error(
            `condition not met within ${timeoutMs} ms (dispatcher ${JSON.stringify(services.dispatcher.stats())}, engine calls ${engine.calls.length})`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close(o = {}) {
      await app.close();
      await stopServices(services);
      await engine.stop();
      if (!o.keepSchema) await drop();
    },
  };
  return h;
}
