/**
 * The one database seam. Two adapters: PGlite (embedded, one connection in this process) and PostgreSQL
 * through `pg`. Both run the same SQL; nothing above this file knows which one it talks to.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * A statement PostgreSQL keeps prepared per connection (parsed and planned once): for the hot paths,
 * where planning costs as much as running. PGlite runs its text as usual.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export function statement(name: string, text: string): Statement {
  return { name, text };
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
  /** How many transactions can usefully run at once (1 on PGlite: it has a single connection). */
  readonly parallelism: number;
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
