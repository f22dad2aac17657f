import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, declaredStatements } from '../../src/db/db.js';
import { migrate } from '../../src/db/migrate.js';
// The composition root imports every module that declares a statement.
import '../../src/services.js';
import { openTestDb } from '../helpers/harness.js';

/**
 * PostgreSQL plans a prepared statement once per connection (after five calls) and keeps that generic
 * plan until an ANALYZE of its tables. Made on a new, empty database it can scan a table whole, and keep
 * doing so while the table grows to millions of rows. So every prepared statement must reach its rows
 * through an index even when planned on empty tables; statements that cannot say `prepare: false`.
 */
describe('prepared statements keep index plans as tables grow', () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('reads no table by a sequential scan in any generic plan made on empty tables', async () => {
    const prepared = declaredStatements().filter((s) => s.prepare);
    expect(prepared.map((s) => s.name)).toEqual(
      expect.arrayContaining(['inbox_write', 'dispatch_claim_due']),
    );
    const plans = new Map<string, string>();
    for (const s of prepared) {
      const plan = await db.tx(async (q) => {
        await q.query(`PREPARE plan_probe AS ${s.text}`);
        try {
          const r = await q.query<{ n: number }>(
            `SELECT cardinality(parameter_types)::int AS n FROM pg_prepared_statements WHERE name = 'plan_probe'`,
          );
          await q.query('SET LOCAL plan_cache_mode = force_generic_plan');
          const nulls = Array.from({ length: r.rows[0]?.n ?? 0 }, () => 'NULL').join(', ');
          const e = await q.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN EXECUTE plan_probe${nulls ? `(${nulls})` : ''}`,
          );
          return e.rows.map((x) => x['QUERY PLAN']).join('\n');
        } finally {
          await q.query('DEALLOCATE plan_probe');
        }
      });
      plans.set(s.name, plan);
    }
    // trigger_index_version holds one row, always.
    for (const [name, plan] of plans)
      expect(plan, name).not.toMatch(/Seq Scan on (?!trigger_index_version )/);
  });

  it('fails for a statement that would scan, so the check above can fail', async () => {
    const plan = await db.tx(async (q) => {
      await q.query(
        'PREPARE plan_probe AS UPDATE dispatches d SET status = x.status FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text) WHERE d.id = x.id',
      );
      try {
        await q.query('SET LOCAL plan_cache_mode = force_generic_plan');
        const e = await q.query<{ 'QUERY PLAN': string }>('EXPLAIN EXECUTE plan_probe(NULL)');
        return e.rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await q.query('DEALLOCATE plan_probe');
      }
    });
    expect(plan).toMatch(/Seq Scan on dispatches/);
  });
});
