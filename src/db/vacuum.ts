import type { Queryable } from './db.js';

/**
 * Autovacuum for PGlite, which has none: PGlite is a single backend with no background workers, so dead
 * row versions (every dispatch is updated when its engine call ends) would never be cleaned up, tables
 * and indexes would only grow, and the planner would have no statistics. The service runs what
 * autovacuum would, with its default thresholds, on the tables of its schema. On PostgreSQL the server's
 * autovacuum does this; the service leaves it alone there.
 */
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
// Insert-only tables (the inbox) are vacuumed too, for their visibility map and free space map.
const INSERT_THRESHOLD = 1_000;
const INSERT_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;
/** autovacuum_freeze_max_age: past this, a table is vacuumed whatever its activity (wraparound). */
export const FREEZE_MAX_AGE = 200_000_000;

export interface TableUpkeep {
  table: string;
  vacuum: boolean;
  analyze: boolean;
}

interface StatRow {
  relname: string;
  tuples: number;
  n_dead_tup: string | number;
  n_ins_since_vacuum: string | number;
  n_mod_since_analyze: string | number;
  xid_age: number;
}

/** Tables of the current schema that autovacuum's default thresholds say are due, most dead rows first. */
export async function tablesDue(q: Queryable): Promise<TableUpkeep[]> {
  // Statistics reach the views at most once a second; this makes the next read see the latest.
  await q.query('SELECT pg_stat_force_next_flush()');
  const r = await q.query<StatRow>(
    `SELECT s.relname, greatest(c.reltuples, 0)::float8 AS tuples, s.n_dead_tup, s.n_ins_since_vacuum,
       s.n_mod_since_analyze, age(c.relfrozenxid)::float8 AS xid_age
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema()
     ORDER BY s.n_dead_tup DESC`,
  );
  const due: TableUpkeep[] = [];
  for (const x of r.rows) {
    const n = x.tuples;
    const vacuum =
      Number(x.n_dead_tup) > VACUUM_THRESHOLD + VACUUM_SCALE * n ||
      Number(x.n_ins_since_vacuum) > INSERT_THRESHOLD + INSERT_SCALE * n ||
      x.xid_age > FREEZE_MAX_AGE;
    const analyze = Number(x.n_mod_since_analyze) > ANALYZE_THRESHOLD + ANALYZE_SCALE * n;
    if (vacuum || analyze) due.push({ table: x.relname, vacuum, analyze });
  }
  return due;
}

/** Transaction ids used since the database's oldest unfrozen one (wraparound comes at about 2 billion). */
export async function databaseXidAge(q: Queryable): Promise<number> {
  const r = await q.query<{ age: number }>(
    'SELECT age(datfrozenxid)::float8 AS age FROM pg_database WHERE datname = current_database()',
  );
  return r.rows[0]?.age ?? 0;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * VACUUM and ANALYZE as separate statements, so that statements queued in PGlite's worker run between
 * them. ANALYZE runs at the statistics target the worker set for its session (src/db/pgliteThread.js).
 */
export async function upkeepTable(q: Queryable, t: TableUpkeep): Promise<void> {
  if (t.vacuum) await q.query(`VACUUM ${ident(t.table)}`);
  if (t.analyze) await q.query(`ANALYZE ${ident(t.table)}`);
}

/**
 * Vacuums every table, catalogs included; those whose oldest rows are past vacuum_freeze_table_age are
 * scanned whole and frozen, which is what moves the database's wraparound horizon.
 */
export async function vacuumDatabase(q: Queryable): Promise<void> {
  await q.query('VACUUM');
}
