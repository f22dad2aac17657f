import { ConfigError, loadConfig } from './config.js';
import { AppError } from './errors.js';
import { buildApp } from './http/app.js';
import { createServices, startServices, stopServices } from './services.js';

/**
 * The composition root: configuration → services → HTTP. Signal handling lives here and nowhere else.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`workflow-scheduler: invalid configuration: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const services = await createServices(config);
  const log = services.logger;
  if (!config.auth.configured) {
    log.warn(
      { host: config.host },
      'no SCHEDULER_API_KEY, JWT_SECRET or JWT_JWKS_URL: the API is open to anyone who can reach it; listening on loopback only',
    );
  }
  await startServices(services);
  const app = await buildApp(services);
  const address = await app.listen({ port: config.port, host: config.host });
  log.info(
    {
      address,
      database: services.db.dialect,
      locks: services.locks.kind,
      engine: config.engineUrl,
    },
    'workflow-scheduler ready',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, finishing work under way');
    const timer = setTimeout(() => {
      log.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await app.close();
      await stopServices(services);
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  if (err instanceof AppError) {
    process.stderr.write(`workflow-scheduler: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`workflow-scheduler: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
