/**
 * The one database seam. Two adapters: PGlite (embedded, one connection in this process) and PostgreSQL
 * through `pg`. Both run the same SQL; nothing above this file knows which one it talks to.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * A named statement of a hot path. By default PostgreSQL keeps it prepared per connection (parsed and
 * planned once), where planning costs as much as running. With `prepare: false` it is sent unnamed and
 * planned for each call: for statements whose good plan depends on table sizes, since a generic plan
 * made while a table was small (a new database) keeps scanning it whole as it grows, until autovacuum's
 * next ANALYZE. PGlite runs the text as usual. The name also lets tests find the statement.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
  readonly prepare: boolean;
}

const declared = new Map<string, Statement>();

export function statement(name: string, text: string, opts: { prepare?: boolean } = {}): Statement {
  const s = { name, text, prepare: opts.prepare ?? true };
  declared.set(name, s);
  return s;
}

/** Every statement declared so far (test/core/plans.test.ts checks the generic plans of the prepared ones). */
export function declaredStatements(): Statement[] {
  return [...declared.values()];
}

export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string | Statement,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export type Dialect = 'pglite' | 'postgres';

export interface Db extends Queryable {
  readonly dialect: Dialect;
  /** Runs fn in a transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on a channel; returns the unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Serialises a value for a `$n::jsonb` parameter. Both drivers would otherwise turn arrays into SQL arrays. */
export function json(value: unknown): string {
  return JSON.stringify(value);
}

/** Timestamps cross the seam as ISO strings; drivers hand back Date objects. */
export function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return new Date(String(value)).toISOString();
}

export function ms(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return new Date(String(value)).getTime();
}

export function ts(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Deletes up to `limit` rows of `table` whose `column` is before `before` (and that meet `filter`, SQL
 * on the table's own columns), oldest first; returns how many. For retention of records that only age.
 * SKIP LOCKED lets replicas purge side by side.
 */
export async function deleteOldest(
  q: Queryable,
  table: string,
  column: string,
  before: string,
  limit: number,
  filter = 'true',
): Promise<number> {
  const r = await q.query(
    `DELETE FROM ${table} WHERE id IN (
       SELECT id FROM ${table} WHERE ${column} < $1::timestamptz AND (${filter})
       ORDER BY ${column} LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [before, limit],
  );
  return r.rowCount;
}
