import type { Clock } from '../../src/clock.js';
import type { Db, Queryable, QueryResult, Statement } from '../../src/db/db.js';
import type { Harness } from './harness.js';

/**
 * A database whose every query, in or out of a transaction, goes through `query` first: the seam where
 * tests inject storage failures or count statements (the real database still answers).
 */
export function interceptQueries(
  db: Db,
  query: (
    q: Queryable,
    text: string | Statement,
    params?: readonly unknown[],
  ) => Promise<QueryResult<unknown>>,
): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: <R>(text: string | Statement, params?: readonly unknown[]) =>
      query(q, text, params) as Promise<QueryResult<R>>,
    exec: (script) => q.exec(script),
  });
  return {
    dialect: db.dialect,
    query: (text, params) => wrap(db).query(text, params),
    exec: (script) => db.exec(script),
    tx: (fn) => db.tx((q) => fn(wrap(q))),
    listen: (channel, on) => db.listen(channel, on),
    close: () => db.close(),
  };
}

/** Records the clock time at which each run of the named prepared statement began, and whether all ended. */
export function countingStatement(db: Db, clock: Clock, name: string) {
  const runs: number[] = [];
  let running = 0;
  const wrapped = interceptQueries(db, (q, text, params) => {
    if (typeof text === 'string' || text.name !== name) return q.query(text, params);
    runs.push(clock.now());
    running++;
    return q.query(text, params).finally(() => running--);
  });
  return { db: wrapped, runs, idle: () => running === 0 };
}

/** Moves a manual clock in steps, letting the counted statement finish before each next step. */
export async function stepClock(
  h: Harness,
  clock: { advance(ms: number): Promise<void> },
  counted: { idle(): boolean },
  totalMs: number,
  stepMs: number,
): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    await clock.advance(stepMs);
    await h.until(() => counted.idle(), 5_000);
    await new Promise((r) => setImmediate(r));
  }
}
