import type { Queryable } from './db.js';

/**
 * The checkpointer for PGlite, which has none. PostgreSQL's checkpointer starts a checkpoint once enough
 * WAL has been written (max_wal_size) or time has passed; PGlite is one backend outside a postmaster, and
 * such a backend never asks for one. Until the service stopped, its pg_wal grew with every write, at any
 * rate (about 3 MB/s at 1,000 webhooks/s: 497 MB after 150 s), and a restart after a crash replayed all
 * of it (3.3-4.5 s for those 497 MB). After a checkpoint, old segments are recycled for the next ones.
 */

/** WAL written since the last checkpoint's redo point that makes the next one due. */
export const CHECKPOINT_WAL_BYTES = 64 * 1024 * 1024;

/** Bytes of WAL written since the redo point of the last checkpoint (what a crash recovery replays). */
export async function walSinceCheckpoint(q: Queryable): Promise<number> {
  const r = await q.query<{ bytes: number }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 AS bytes FROM pg_control_checkpoint()`,
  );
  return r.rows[0]?.bytes ?? 0;
}

/**
 * Writes every dirty page and moves the redo point; WAL segments before it are recycled or removed. With
 * fsync off (PGlite's default) that is page writes into the operating system's cache, at most
 * shared_buffers (128 MB) of them: 126-167 ms after a minute at 1,000 webhooks/s.
 */
export async function checkpoint(q: Queryable): Promise<void> {
  await q.query('CHECKPOINT');
}
