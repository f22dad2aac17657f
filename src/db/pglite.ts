import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { AppError } from '../errors.js';
import type { Db, Queryable, QueryResult } from './db.js';

/**
 * Embedded PostgreSQL. PGlite is one connection in one process, so a lock file keeps a second process
 * off the same data directory, and several replicas need DATABASE_URL.
 */
export async function openPglite(opts: { dataDir?: string; schema?: string }): Promise<Db> {
  let releaseLock = () => {};
  let pg: PGlite;
  if (opts.dataDir) {
    const dir = path.resolve(opts.dataDir);
    mkdirSync(dir, { recursive: true });
    releaseLock = acquireDirLock(dir);
    try {
      pg = await PGlite.create(path.join(dir, 'pgdata'));
    } catch (err) {
      releaseLock();
      throw err;
    }
  } else {
    pg = await PGlite.create();
  }
  const schema = opts.schema ?? 'public';
  if (schema !== 'public') {
    await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  }
  return new PgliteDb(pg, releaseLock);
}

class PgliteDb implements Db {
  readonly dialect = 'pglite' as const;
  readonly parallelism = 1;
  private closed = false;

  constructor(
    private readonly pg: PGlite,
    private readonly releaseLock: () => void,
  ) {}

  async query<R>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const r = await this.pg.query<R>(text, params as unknown[]);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(script: string): Promise<void> {
    await this.pg.exec(script);
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (t: Transaction) => {
      const q: Queryable = {
        async query<R>(text: string, params: readonly unknown[] = []) {
          const r = await t.query<R>(text, params as unknown[]);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        },
        async exec(script: string) {
          await t.exec(script);
        },
      };
      return fn(q);
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const unsubscribe = await this.pg.listen(channel, onPayload);
    return async () => {
      if (!this.closed) await unsubscribe();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.pg.close();
    } finally {
      this.releaseLock();
    }
  }
}

/**
 * Takes `<dir>/scheduler.lock` with O_EXCL. A lock left by a process that no longer runs is taken over;
 * one held by a live process stops start-up with SCHED_DATA_DIR_LOCKED.
 */
export function acquireDirLock(dir: string): () => void {
  const file = path.join(dir, 'scheduler.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSafe(file), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new AppError(
          'SCHED_DATA_DIR_LOCKED',
          `DATA_DIR ${dir} is in use by process ${holder}; embedded PGlite allows one process per data directory (set DATABASE_URL to run several replicas)`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new AppError('SCHED_DATA_DIR_LOCKED', `could not lock DATA_DIR ${dir}`);
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
