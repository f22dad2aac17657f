import type { Clock } from '../../src/clock.js';
import type { Db, Queryable, Statement } from '../../src/db/db.js';

/** Records the clock time at which each run of the named prepared statement began, and whether all ended. */
export function countingStatement(db: Db, clock: Clock, name: string) {
  const runs: number[] = [];
  let running = 0;
  const isIt = (text: string | Statement) => typeof text !== 'string' && text.name === name;
  const wrap = (q: Queryable): Queryable => ({
    query: <R>(text: string | Statement, params?: readonly unknown[]) => {
      if (!isIt(text)) return q.query<R>(text, params);
      runs.push(clock.now());
      running++;
      return q.query<R>(text, params).finally(() => running--);
    },
    exec: (script) => q.exec(script),
  });
  const wrapped: Db = {
    dialect: db.dialect,
    parallelism: db.parallelism,
    query: (text, params) => wrap(db).query(text, params),
    exec: (script) => db.exec(script),
    tx: (fn) => db.tx((q) => fn(wrap(q))),
    listen: (channel, on) => db.listen(channel, on),
    close: () => db.close(),
  };
  return { db: wrapped, runs, idle: () => running === 0 };
}
