import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../services.js';
import { migrate } from './migrate.js';

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
try {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    process.stdout.write(
      applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n',
    );
  } finally {
    await db.close();
  }
} catch (err) {
  process.stderr.write(
    `migrate: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message}\n`,
  );
  process.exit(1);
}
