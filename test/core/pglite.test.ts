import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, statement } from '../../src/db/db.js';
import { openPglite } from '../../src/db/pglite.js';

/**
 * The embedded adapter sends each statement in one extended-protocol exchange and keeps named
 * statements prepared, as PostgreSQL does for the pg adapter (src/db/pgliteThread.js). Runs on PGlite
 * whatever DATABASE_URL says: it is that adapter's own contract.
 */
describe('PGlite adapter: prepared statements and parameters', () => {
  let db: Db;
  const preparedNames = async () =>
    (
      await db.query<{ name: string }>(
        `SELECT name FROM pg_prepared_statements WHERE name LIKE 'probe_%' ORDER BY name`,
      )
    ).rows.map((r) => r.name);

  beforeAll(async () => {
    db = await openPglite({});
    await db.exec('CREATE TABLE probe (x integer NOT NULL)');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('parses a named statement once and runs it again by name', async () => {
    const insert = statement('probe_insert', 'INSERT INTO probe (x) VALUES ($1::integer) RETURNING x');
    for (const x of [1, 2, 3]) {
      const r = await db.query<{ x: number }>(insert, [x]);
      expect(r.rows).toEqual([{ x }]);
      expect(r.rowCount).toBe(1);
    }
    expect(await preparedNames()).toEqual(['probe_insert']);
    // Unnamed statements (prepare: false) and plain text are planned per call and leave nothing behind.
    const unnamed = statement('probe_unnamed', 'SELECT count(*)::int AS n FROM probe', { prepare: false });
    expect((await db.query<{ n: number }>(unnamed)).rows).toEqual([{ n: 3 }]);
    expect(await preparedNames()).toEqual(['probe_insert']);
    // Deallocated by someone else: parsed again on its next call.
    await db.exec('DEALLOCATE ALL');
    expect((await db.query<{ x: number }>(insert, [4])).rows).toEqual([{ x: 4 }]);
    expect(await preparedNames()).toEqual(['probe_insert']);
  });

  it('parses again a statement whose first call failed after parsing, and keeps one that failed later', async () => {
    const insert = statement('probe_late_fail', 'INSERT INTO probe (x) VALUES ($1::integer)');
    await expect(db.query(insert, ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect(await preparedNames()).toEqual(['probe_insert']);
    expect((await db.query(insert, [7])).rowCount).toBe(1);
    expect(await preparedNames()).toEqual(['probe_insert', 'probe_late_fail']);
    await expect(db.query(insert, [null])).rejects.toMatchObject({ code: '23502' });
    expect((await db.query(insert, [8])).rowCount).toBe(1);
    // A statement that does not parse is refused with the server's error and can be sent again.
    const broken = statement('probe_broken', 'SELEC 1');
    await expect(db.query(broken)).rejects.toMatchObject({ code: '42601' });
    await expect(db.query(broken)).rejects.toMatchObject({ code: '42601' });
    expect(await preparedNames()).toEqual(['probe_insert', 'probe_late_fail']);
  });

  it('sends parameters as the pg adapter does: arrays, booleans, numbers, JSON text, null', async () => {
    const r = await db.query<Record<string, unknown>>(
      'SELECT $1::text[] AS a, $2::boolean AS b, $3::jsonb AS j, $4::bigint AS n, $5::text AS z, $6::uuid[] AS u',
      [
        ['a', 'b"c', null],
        true,
        JSON.stringify({ k: [1, 'two'] }),
        5,
        null,
        ['5f0c1a52-7a5e-4a8e-9d64-0d6c1c1f2b3a'],
      ],
    );
    expect(r.rows[0]).toEqual({
      a: ['a', 'b"c', null],
      b: true,
      j: { k: [1, 'two'] },
      n: 5,
      z: null,
      u: ['5f0c1a52-7a5e-4a8e-9d64-0d6c1c1f2b3a'],
    });
  });

  it('runs statements inside a transaction and rolls them back with it', async () => {
    const insert = statement('probe_tx', 'INSERT INTO probe (x) VALUES ($1::integer)');
    await expect(
      db.tx(async (q) => {
        await q.query(insert, [100]);
        await q.query(insert, ['bad']);
      }),
    ).rejects.toMatchObject({ code: '22P02' });
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM probe WHERE x = 100');
    expect(n.rows).toEqual([{ n: 0 }]);
    await db.tx((q) => q.query(insert, [100]));
    // Parsed inside a transaction that its own first call aborted: parsed again afterwards.
    const first = statement('probe_tx_first', 'INSERT INTO probe (x) VALUES ($1::integer)');
    await expect(db.tx((q) => q.query(first, ['bad']))).rejects.toMatchObject({ code: '22P02' });
    await db.tx((q) => q.query(first, [101]));
    expect(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM probe WHERE x = 100')).rows,
    ).toEqual([{ n: 1 }]);
  });
});
