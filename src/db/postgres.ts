import pg from 'pg';
import type { Db, Queryable, QueryResult, Statement } from './db.js';

/** PostgreSQL through a `pg` pool. Any number of replicas may share one database. */
export async function openPostgres(opts: { url: string; schema: string; poolSize: number }): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    // Every connection sees the configured schema first; migrations create it.
    options: `-c search_path=${opts.schema},public`,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener Node exits.
  pool.on('error', () => {});
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
  } finally {
    client.release();
  }
  return new PostgresDb(pool, opts.url, opts.schema);
}

class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly schema: string,
  ) {}

  async query<R>(text: string | Statement, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const r = await this.pool.query(toConfig(text, params));
    return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const q: Queryable = {
        async query<R>(text: string | Statement, params: readonly unknown[] = []) {
          const r = await client.query(toConfig(text, params));
          return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
        },
        async exec(script: string) {
          await client.query(script);
        },
      };
      const result = await fn(q);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * LISTEN needs a connection of its own for as long as the subscription lives. It reconnects with
   * back-off when the connection drops; NOTIFY is only a latency hint, so callers also poll.
   */
  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const connect = async (delay: number): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client({
        connectionString: this.url,
        options: `-c search_path=${this.schema},public`,
      });
      c.on('notification', (msg) => {
        if (msg.channel === channel) onPayload(msg.payload ?? '');
      });
      c.on('error', () => {
        c.end().catch(() => {});
        if (!stopped) {
          retryTimer = setTimeout(() => void connect(Math.min(delay * 2, 30_000)), delay);
          retryTimer.unref();
        }
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${quoteIdent(channel)}`);
        client = c;
      } catch {
        c.end().catch(() => {});
        if (!stopped) {
          retryTimer = setTimeout(() => void connect(Math.min(delay * 2, 30_000)), delay);
          retryTimer.unref();
        }
      }
    };
    await connect(500);
    return async () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await client?.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toConfig(text: string | Statement, params: readonly unknown[]): pg.QueryConfig {
  if (typeof text === 'string') return { text, values: params as unknown[] };
  return text.prepare
    ? { name: text.name, text: text.text, values: params as unknown[] }
    : { text: text.text, values: params as unknown[] };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
