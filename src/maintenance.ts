import { Alarm, type Clock } from './clock.js';
import { CHECKPOINT_WAL_BYTES, checkpoint, walSinceCheckpoint } from './db/checkpoint.js';
import { type Db, ts } from './db/db.js';
import { purgeEvents } from './db/events.sql.js';
import {
  databaseXidAge,
  FREEZE_MAX_AGE,
  type TableUpkeep,
  tablesDue,
  upkeepTable,
  vacuumDatabase,
} from './db/vacuum.js';
import { purgeClosedWaits } from './hil/waits.sql.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Registry } from './triggers/registry.js';

/** How often old events are purged, and how often PGlite's tables and WAL are checked (upkeep). */
const PURGE_INTERVAL_MS = 3_600_000;
const UPKEEP_INTERVAL_MS = 60_000;
/** The first pass waits this long after start, so that restoring and catching up come first. */
const FIRST_PASS_DELAY_MS = 60_000;
/** Rows deleted per statement: short (500 events: 35 ms at the median in PGlite), so ingest runs between. */
export const PURGE_BATCH = 500;

export interface PurgeResult {
  events: number;
  /**
   * Other records deleted after the same retention: by kind for a kind's own (GitHub deliveries, Slack
   * notices), and `hil_waits` for closed human-in-the-loop waits.
   */
  records: Record<string, number>;
}

/**
 * Housekeeping of the inbox and outbox, one timer per process: events older than EVENT_RETENTION_DAYS
 * are deleted with their dispatches (never while a dispatch is unfinished), and on PGlite, which has no
 * background processes, tables are vacuumed and analysed as autovacuum would (src/db/vacuum.ts) and
 * checkpoints taken as the checkpointer would (src/db/checkpoint.ts). Replicas on one
 * PostgreSQL may purge side by side: each batch skips rows another has locked.
 */
export class Maintenance {
  private readonly alarm: Alarm;
  private running = false;
  /** Set by stop(): a pass under way ends after its current statement. */
  private stopping = false;
  private pass: Promise<void> | null = null;
  private nextPurgeAt = 0;
  private lastPurge: (PurgeResult & { at: string }) | null = null;
  private lastUpkeepAt: string | null = null;
  /** VACUUMs and ANALYZEs run by this process, by table. */
  private readonly vacuumed = new Map<string, number>();
  private readonly analysed = new Map<string, number>();
  private checkpoints = 0;
  private lastCheckpointAt: string | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      registry: Registry;
      metrics: Metrics;
      retentionDays: number;
      /** Rows per purge statement (PURGE_BATCH). */
      purgeBatch?: number;
      /** WAL since the last checkpoint that makes PGlite's next one due (CHECKPOINT_WAL_BYTES). */
      checkpointWalBytes?: number;
    },
  ) {
    this.alarm = new Alarm(deps.clock, () => void this.tick());
  }

  /** Vacuums and checkpoints are the service's job only where no autovacuum or checkpointer runs. */
  get upkeepEnabled(): boolean {
    return this.deps.db.dialect === 'pglite';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.nextPurgeAt = this.deps.clock.now() + FIRST_PASS_DELAY_MS;
    this.alarm.set(FIRST_PASS_DELAY_MS);
  }

  /** Stops the timer; a pass under way ends after its current statement. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.alarm.cancel();
    await this.pass;
  }

  /** Deletes what is older than the retention, in batches (the hourly pass; tests call it directly). */
  async purge(): Promise<PurgeResult> {
    const { db, clock, registry, metrics, logger } = this.deps;
    const before = ts(clock.now() - this.deps.retentionDays * 86_400_000);
    const batch = this.deps.purgeBatch ?? PURGE_BATCH;
    const drain = async (step: () => Promise<number>) => {
      let total = 0;
      for (let n = batch; n === batch && !this.stopping; ) {
        n = await step();
        total += n;
      }
      return total;
    };
    const events = await drain(() => purgeEvents(db, before, batch));
    const records: Record<string, number> = {};
    type Purge = (q: Db, before: string, limit: number) => Promise<number>;
    const purgers: (readonly [string, Purge])[] = [
      ...registry.all().flatMap((kind) => (kind.purge ? [[kind.id, kind.purge] as const] : [])),
      ['hil_waits', purgeClosedWaits],
    ];
    for (const [name, purge] of purgers) {
      const n = await drain(() => purge(db, before, batch));
      if (n) records[name] = n;
    }
    if (events) metrics.eventsPurged.inc(events);
    if (events || Object.keys(records).length)
      logger.info({ events, records, before }, 'events past the retention purged');
    this.lastPurge = { at: ts(clock.now()), events, records };
    return { events, records };
  }

  /**
   * On PGlite: VACUUM / ANALYZE of the tables autovacuum's thresholds say are due, one statement each,
   * and a database-wide VACUUM when the oldest unfrozen transaction id nears wraparound. Returns the
   * tables done. Elsewhere a no-op: PostgreSQL's autovacuum does it.
   */
  async upkeep(): Promise<TableUpkeep[]> {
    if (!this.upkeepEnabled) return [];
    const { db, clock, logger } = this.deps;
    const done: TableUpkeep[] = [];
    if ((await databaseXidAge(db)) > FREEZE_MAX_AGE) {
      logger.info('embedded database: vacuuming every table against transaction id wraparound');
      await vacuumDatabase(db);
    }
    for (const t of await tablesDue(db)) {
      if (this.stopping) break;
      const started = clock.now();
      await upkeepTable(db, t);
      done.push(t);
      const bump = (m: Map<string, number>) => m.set(t.table, (m.get(t.table) ?? 0) + 1);
      if (t.vacuum) bump(this.vacuumed);
      if (t.analyze) bump(this.analysed);
      logger.debug({ ...t, ms: clock.now() - started }, 'embedded autovacuum');
    }
    this.lastUpkeepAt = ts(clock.now());
    return done;
  }

  /**
   * On PGlite: a CHECKPOINT once enough WAL has been written since the last (src/db/checkpoint.ts).
   * Returns whether one was taken. Elsewhere a no-op: PostgreSQL's checkpointer does it.
   */
  async checkpointIfDue(): Promise<boolean> {
    if (!this.upkeepEnabled || this.stopping) return false;
    const { db, clock, logger } = this.deps;
    const wal = await walSinceCheckpoint(db);
    if (wal < (this.deps.checkpointWalBytes ?? CHECKPOINT_WAL_BYTES)) return false;
    const started = clock.now();
    await checkpoint(db);
    this.checkpoints++;
    this.lastCheckpointAt = ts(clock.now());
    logger.debug({ wal_bytes: wal, ms: clock.now() - started }, 'embedded checkpoint');
    return true;
  }

  private async tick(): Promise<void> {
    const run = async () => {
      if (this.deps.clock.now() >= this.nextPurgeAt) {
        this.nextPurgeAt = this.deps.clock.now() + PURGE_INTERVAL_MS;
        await this.purge();
      }
      await this.upkeep();
      // Right after the vacuums: pages written since a checkpoint need no full-page image in the WAL
      // when the next VACUUM marks them all-visible (PGlite has data checksums on), so checkpoints
      // between vacuums would multiply the WAL of the next one.
      await this.checkpointIfDue();
    };
    this.pass = run().catch((err) => this.deps.logger.warn({ err }, 'maintenance pass failed; will retry'));
    await this.pass;
    this.pass = null;
    if (this.running) this.alarm.set(this.upkeepEnabled ? UPKEEP_INTERVAL_MS : PURGE_INTERVAL_MS);
  }

  health(): Record<string, unknown> {
    return {
      event_retention_days: this.deps.retentionDays,
      last_purge: this.lastPurge,
      embedded_autovacuum: this.upkeepEnabled,
      ...(this.upkeepEnabled
        ? {
            last_upkeep_at: this.lastUpkeepAt,
            vacuumed: Object.fromEntries(this.vacuumed),
            analysed: Object.fromEntries(this.analysed),
            checkpoints: this.checkpoints,
            last_checkpoint_at: this.lastCheckpointAt,
          }
        : {}),
    };
  }
}
