import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { Db, Queryable, QueryResult, Statement } from './db.js';

/**
 * Embedded PostgreSQL. PGlite is one connection in one process: a lock file keeps a second process off
 * the same data directory (several replicas need DATABASE_URL), and the database runs in a worker thread
 * (src/db/pgliteThread.js) so its synchronous work never blocks request handling.
 */
export async function openPglite(opts: { dataDir?: string; schema?: string }): Promise<Db> {
  let releaseLock = () => {};
  let dataDir: string | undefined;
  if (opts.dataDir) {
    const dir = path.resolve(opts.dataDir);
    mkdirSync(dir, { recursive: true });
    releaseLock = acquireDirLock(dir);
    dataDir = path.join(dir, 'pgdata');
  }
  const worker = new Worker(new URL('./pgliteThread.js', import.meta.url), {
    workerData: { dataDir, schema: opts.schema ?? 'public' },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { op: string; error?: { message: string } }) =>
        m.op === 'ready'
          ? resolve()
          : reject(new Error(`PGlite failed to start: ${m.error?.message ?? m.op}`)),
      );
      worker.once('error', reject);
    });
  } catch (err) {
    releaseLock();
    await worker.terminate();
    throw err;
  }
  return new PgliteDb(worker, releaseLock);
}

interface Reply {
  id?: number;
  op?: string;
  ok?: boolean;
  rows?: unknown[];
  rowCount?: number;
  error?: Record<string, unknown> & { message: string };
  channel?: string;
  payload?: string;
}

class PgliteDb implements Db {
  readonly dialect = 'pglite' as const;
  private closed = false;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  /** The single connection, taken in turn (FIFO) by statements and whole transactions. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly worker: Worker,
    private readonly releaseLock: () => void,
  ) {
    worker.on('message', (m: Reply) => {
      if (m.op === 'notify') {
        for (const f of this.listeners.get(m.channel ?? '') ?? []) f(m.payload ?? '');
        return;
      }
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id!);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve(m);
      else p.reject(Object.assign(new Error(m.error?.message ?? 'PGlite error'), m.error ?? {}));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('the PGlite worker stopped')));
    // An idle worker must not keep the process alive on its own; one with statements under way must.
    worker.unref();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.unref();
  }

  private send(msg: Record<string, unknown>): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.turn;
    let release = () => {};
    this.turn = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async run<R>(text: string | Statement, params: readonly unknown[]): Promise<QueryResult<R>> {
    const r = await this.send(
      typeof text === 'string'
        ? { op: 'query', text, params }
        : { op: 'query', text: text.text, params, name: text.prepare ? text.name : undefined },
    );
    return { rows: (r.rows ?? []) as R[], rowCount: r.rowCount ?? 0 };
  }

  query<R>(text: string | Statement, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return this.exclusive(() => this.run<R>(text, params));
  }

  async exec(script: string): Promise<void> {
    await this.exclusive(() => this.send({ op: 'exec', text: script }));
  }

  /** Holds the connection from BEGIN to COMMIT; statements of others wait their turn. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const q: Queryable = {
      query: <R>(text: string | Statement, params: readonly unknown[] = []) => this.run<R>(text, params),
      exec: async (script: string) => {
        await this.send({ op: 'exec', text: script });
      },
    };
    return this.exclusive(async () => {
      await this.send({ op: 'exec', text: 'BEGIN' });
      try {
        const result = await fn(q);
        await this.send({ op: 'exec', text: 'COMMIT' });
        return result;
      } catch (err) {
        await this.send({ op: 'exec', text: 'ROLLBACK' }).catch(() => {});
        throw err;
      }
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.exclusive(() => this.send({ op: 'listen', channel }));
    }
    set.add(onPayload);
    return async () => {
      set.delete(onPayload);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        if (!this.closed) await this.send({ op: 'unlisten', channel }).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.exclusive(() => this.send({ op: 'close' }));
    } finally {
      this.closed = true;
      await this.worker.terminate();
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
