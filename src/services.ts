import { randomUUID } from 'node:crypto';
import { type Authenticator, createAuthenticator } from './auth/auth.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/db.js';
import { ts } from './db/db.js';
import { releaseAllClaims } from './db/dispatches.sql.js';
import { migrate } from './db/migrate.js';
import { openPglite } from './db/pglite.js';
import { openPostgres } from './db/postgres.js';
import { Deployer } from './deploy/deployer.js';
import { createEngineClient, type EngineClient } from './engine/client.js';
import { Hil } from './hil/hil.js';
import { createLockManager, type LockManager } from './locks/locks.js';
import { createLogger, type Logger } from './logger.js';
import { Maintenance } from './maintenance.js';
import { Metrics } from './metrics.js';
import { Dispatcher } from './pipeline/dispatcher.js';
import { Ingestor } from './pipeline/ingestor.js';
import { Runtimes } from './runtimes.js';
import { Registry } from './triggers/registry.js';

/** Everything the service is made of, wired once (the composition root's product). */
export interface Services {
  readonly instanceId: string;
  readonly config: Config;
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: Metrics;
  readonly locks: LockManager;
  readonly engine: EngineClient;
  readonly auth: Authenticator;
  readonly dispatcher: Dispatcher;
  readonly ingestor: Ingestor;
  readonly deployer: Deployer;
  readonly runtimes: Runtimes;
  readonly hil: Hil;
  readonly maintenance: Maintenance;
}

export interface ServiceOverrides {
  db?: Db;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  engine?: EngineClient;
  metrics?: Metrics;
}

export async function openDatabase(config: Config): Promise<Db> {
  return config.databaseUrl
    ? openPostgres({
        url: config.databaseUrl,
        schema: config.databaseSchema,
        poolSize: config.databasePoolSize,
      })
    : openPglite({ dataDir: config.dataDir, schema: config.databaseSchema });
}

/** Builds the services and applies migrations; nothing runs until startServices(). */
export async function createServices(config: Config, o: ServiceOverrides = {}): Promise<Services> {
  const logger = o.logger ?? createLogger(config);
  const clock = o.clock ?? systemClock;
  const registry = o.registry ?? new Registry();
  const db = o.db ?? (await openDatabase(config));
  try {
    await migrate(db);
  } catch (err) {
    if (!o.db) await db.close();
    throw err;
  }
  const metrics = o.metrics ?? new Metrics();
  const engine =
    o.engine ?? createEngineClient({ baseUrl: config.engineUrl, timeoutMs: config.dispatch.engineTimeoutMs });
  const locks = createLockManager({
    redisUrl: config.redisUrl,
    clock,
    prefix: `wfsched:${config.databaseSchema}:`,
  });
  const dispatcher = new Dispatcher({ db, clock, engine, config: config.dispatch, logger, metrics });
  const ingestor = new Ingestor({
    db,
    clock,
    registry,
    dispatcher,
    logger,
    metrics,
    maxBatch: config.ingestMaxBatch,
  });
  const runtimes = new Runtimes({ db, registry, logger });
  const hil = new Hil({ db, clock, registry, dispatcher, logger, metrics, config: config.hil });
  dispatcher.setResumeResolver('correlated', hil.resolver);
  let services: Services | undefined;
  const deployer = new Deployer({
    db,
    clock,
    registry,
    logger,
    defaultTimezone: config.timezone,
    onTriggersChanged: (workflowId) => runtimes.changed(workflowId),
    services: () => services!,
  });
  services = {
    instanceId: randomUUID(),
    config,
    db,
    clock,
    logger,
    registry,
    metrics,
    locks,
    engine,
    auth: createAuthenticator(config.auth),
    dispatcher,
    ingestor,
    deployer,
    runtimes,
    hil,
    maintenance: new Maintenance({
      db,
      clock,
      logger,
      registry,
      metrics,
      retentionDays: config.eventRetentionDays,
    }),
  };
  return services;
}

/** Restores what start-up must restore, starts delivery and the kinds' runtimes, then polls the outbox. */
export async function startServices(s: Services): Promise<void> {
  const interrupted = await s.deployer.recoverInterrupted();
  if (interrupted.length)
    s.logger.warn({ workflows: interrupted }, 'deployments interrupted by a stop were marked failed');
  if (s.db.dialect === 'pglite') {
    // The data directory lock makes this the only process: any in-flight claim is an orphan of a crash.
    const released = await releaseAllClaims(s.db, ts(s.clock.now()));
    if (released) s.logger.info({ released }, 'claims left by a previous process were released');
  }
  // The dispatcher takes what is handed to it at once, but its first poll of the outbox waits until the
  // runtimes have restored: ticks falling due now must not wait behind a backlog of older dispatches,
  // which are late already (a restart with a backlog took 1.6 s to restore 100k schedules this way, 2.0-2.5
  // s with the first polls running alongside).
  s.dispatcher.start({ poll: false });
  s.hil.start();
  await s.runtimes.start(s);
  s.dispatcher.kick();
  s.maintenance.start();
}

/**
 * Stops in dependency order: the runtimes (producers: the scheduler stops claiming and stores the ticks it
 * claimed), then no new events, finish deliveries under way, close.
 */
export async function stopServices(s: Services, opts: { closeDb?: boolean } = {}): Promise<void> {
  await s.maintenance.stop();
  await s.runtimes.stop();
  await s.ingestor.stop();
  await s.hil.stop();
  await s.dispatcher.stop();
  await s.engine.close();
  await s.locks.close();
  if (opts.closeDb !== false) await s.db.close();
}
