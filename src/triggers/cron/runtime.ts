import { Histogram } from 'prom-client';
import { Alarm, coalescedWake } from '../../clock.js';
import type { Services } from '../../services.js';
import type { KindRuntime } from '../types.js';
import { planCatchup } from './catchup.js';
import { type FireItem, Firer, type MissedItem } from './firing.js';
import { LoopState, type NextTick } from './state.js';
import { changedWorkflowIds, countActiveSchedules, pruneFires } from './store.js';
import { ScheduleSync } from './sync.js';
import { takeOverExpiredClaims } from './takeover.js';

/** Due ticks handled per turn of the event loop; the rest follow on the next turn. */
const MAX_BATCH = 2_000;
/** Longest that taking a tick is held back to share a batch with later ones (arm). */
const TAKE_WINDOW_MS = 100;
/** setTimeout's ceiling. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Workflows reloaded one by one by a reconciliation; more changes reload everything. */
const MAX_REFRESH = 200;
/** Clocks of replicas that write updated_at may disagree by this much. */
const SKEW_MS = 60_000;

const instances = new WeakMap<Services, CronRuntime>();
/** The scheduler loop of this process, when it runs (describe shows whether a trigger is in it). */
export const cronRuntimeOf = (s: Services): CronRuntime | undefined => instances.get(s);

/**
 * The one scheduler loop of the process: every active CRON trigger is a slot in a table, the slots sit in
 * one min-heap keyed by their next effective (jittered) instant, and one clock timer is armed for the
 * heap's minimum (or the next housekeeping). Due slots are advanced and their ticks handed to the Firer
 * in batches. Changes arrive by onTriggersChanged (local calls and NOTIFY); housekeeping reconciles
 * against the database, takes over expired claims and prunes old fire records.
 */
export class CronRuntime implements KindRuntime {
  readonly state: LoopState;
  readonly firer: Firer;
  private readonly sync: ScheduleSync;
  private running = false;
  private readonly alarm: Alarm;
  private nextHousekeeping = 0;
  private nextReconcile = 0;
  private nextPrune = 0;
  private reconcileSince = 0;
  /** The newest trigger change the last full load contained: reconciliation looks after it only. */
  private loadedUpTo = 0;
  private countMismatch = -1;
  private housekeeping: Promise<void> | null = null;
  /** A housekeeping fell due while the previous one still ran: run it right after. */
  private housekeepingAgain = false;
  readonly stats = { restoreMs: 0, restored: 0, lastTickAt: 0, ticks: 0, misfires: 0 };

  constructor(private readonly s: Services) {
    const name = 'scheduler_cron_claim_lateness_seconds';
    const lateness =
      (s.metrics.registry.getSingleMetric(name) as Histogram<'source'> | undefined) ??
      new Histogram({
        name,
        help: 'Claim commit time minus the effective (jittered) fire time',
        labelNames: ['source'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5, 30],
        registers: [s.metrics.registry],
      });
    this.firer = new Firer(s, (seconds, source) => lateness.observe({ source }, seconds));
    this.state = new LoopState(s.logger);
    this.alarm = new Alarm(s.clock, () => this.tick());
    this.sync = new ScheduleSync(s, this.state, () => this.arm());
    instances.set(s, this);
  }

  async start(): Promise<void> {
    const { clock, config, db } = this.s;
    const started = performance.now();
    const now = clock.now();
    // Changes the restore's snapshot already held need no second look (a bulk deploy just before a start).
    this.loadedUpTo = Math.min(await this.sync.resync(), now);
    this.reconcileSince = now - SKEW_MS;
    this.stats.restoreMs = performance.now() - started;
    this.stats.restored = this.state.table.size;
    this.running = true;
    // Embedded PGlite is a single process: every claim left is an orphan of a previous run.
    if (db.dialect === 'pglite')
      await takeOverExpiredClaims(this.s, this.firer, { all: true }).catch(() => 0);
    this.nextHousekeeping = now + this.housekeepingEvery();
    this.nextReconcile = now + config.cron.reconcileIntervalMs;
    this.nextPrune = now + 60_000;
    this.s.logger.info(
      {
        instance: this.s.instanceId,
        schedules: this.state.table.size,
        distinct: this.state.table.distinctSpecs,
        ms: Math.round(this.stats.restoreMs),
      },
      'cron: schedules restored',
    );
    this.arm();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.alarm.cancel();
    await this.housekeeping;
    await this.sync.idle();
    await this.firer.stop();
  }

  onTriggersChanged(workflowId: string): Promise<void> {
    return this.sync.refresh(workflowId);
  }

  health(): Record<string, unknown> {
    const next = this.state.heap.peekKey();
    return {
      running: this.running,
      schedules: this.state.table.size,
      distinct_schedules: this.state.table.distinctSpecs,
      next_fire_at: Number.isFinite(next) ? new Date(next).toISOString() : null,
      batches_in_flight: this.firer.busy,
      restore_ms: Math.round(this.stats.restoreMs),
      last_tick_at: this.stats.lastTickAt ? new Date(this.stats.lastTickAt).toISOString() : null,
      misfires: this.stats.misfires,
    };
  }

  /** Next effective instant of a trigger in this loop, or null when the loop does not hold it. */
  scheduled(workflowId: string, nodeId: string): number | null {
    const slot = this.state.table.find(workflowId, nodeId);
    return slot < 0 ? null : (this.state.heap.keyOf(slot) ?? null);
  }

  // ------------------------------------------------------------------------------------------ the loop

  private housekeepingEvery(): number {
    const c = this.s.config.cron;
    return Math.max(100, Math.min(c.reconcileIntervalMs, Math.floor(c.claimLeaseMs / 3)));
  }

  /**
   * One timer: for the earliest of the heap's minimum and the next housekeeping. While ticks keep falling
   * due, a wake-up waits up to a tenth of the lookahead (at most TAKE_WINDOW_MS) after the last one, so a
   * tick is taken between the whole lookahead and the lookahead less that window before its instant, and
   * a busy second's ticks are claimed and stored in about ten batches instead of a few ticks per wake-up
   * and statement (bench/cron at 100k: about 5 ticks per claim without the window).
   */
  private arm(): void {
    if (!this.running) return;
    const { lookaheadMs } = this.s.config.cron;
    const take = coalescedWake(
      this.state.heap.peekKey() - lookaheadMs,
      this.stats.lastTickAt,
      Math.min(TAKE_WINDOW_MS, Math.floor(lookaheadMs / 10)),
    );
    const at = Math.min(take, this.nextHousekeeping);
    this.alarm.within(Math.max(0, Math.min(at - this.s.clock.now(), MAX_TIMER_MS)));
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.s.clock.now();
    this.stats.lastTickAt = now;
    if (now >= this.nextHousekeeping) {
      this.nextHousekeeping = now + this.housekeepingEvery();
      this.startHousekeeping();
    }
    const fires: FireItem[] = [];
    const missed: MissedItem[] = [];
    // Ticks due within the lookahead are taken now: their claim and event are written ahead, and the
    // engine is called at the instant (Firer.store, Dispatcher).
    const horizon = now + this.s.config.cron.lookaheadMs;
    for (let n = 0; n < MAX_BATCH && this.state.heap.peekKey() <= horizon; n++) {
      const effective = this.state.heap.peekKey();
      this.advance(this.state.heap.pop(), effective, now, fires, missed);
    }
    if (fires.length || missed.length) {
      this.stats.ticks += fires.length;
      this.firer.submit(fires, missed);
    }
    this.arm();
  }

  /** A due slot: fire its tick (late within the misfire grace) or apply its catch-up policy. */
  private advance(
    slot: number,
    effective: number,
    now: number,
    fires: FireItem[],
    missed: MissedItem[],
  ): void {
    const t = this.state.table;
    const spec = t.spec[slot];
    if (!spec) return;
    try {
      const nominal = t.next[slot]!;
      if (now - effective <= this.s.config.cron.misfireGraceMs) {
        const following = t.upcoming(slot, nominal);
        t.last[slot] = nominal;
        const next = this.state.scheduleNext(slot, following);
        fires.push(this.item(slot, nominal, effective, effective - nominal, 'schedule', next));
        return;
      }
      // Misfire: the loop or the whole service was away. Everything due up to now goes through the policy.
      this.stats.misfires++;
      const plan = planCatchup(spec.schedule, {
        lastNominalMs: t.last[slot]!,
        nowMs: now,
        windowSeconds: t.windowSec[slot]!,
        policy: t.catchupPolicy(slot),
        maxRuns: t.maxRuns[slot]!,
      });
      t.last[slot] = now;
      const next = this.state.scheduleNext(slot, t.upcoming(slot, now));
      for (const n of plan.fire) fires.push(this.item(slot, n, now, 0, 'catchup', next));
      for (const m of plan.missed) {
        const reason =
          m.count === undefined
            ? m.reason
            : `${m.reason}: ${m.count}${m.countIsLowerBound ? ' or more' : ''} ticks from ${new Date(m.nominalMs).toISOString()} to ${new Date(m.lastNominalMs ?? m.nominalMs).toISOString()}`;
        missed.push({
          workflowId: t.workflowId[slot]!,
          nodeId: t.nodeId[slot]!,
          nominal: m.nominalMs,
          effective: m.nominalMs,
          reason,
          ...next,
        });
      }
    } catch (err) {
      this.s.logger.error(
        { err, workflow_id: t.workflowId[slot], node_id: t.nodeId[slot] },
        'cron: schedule failed; dropped from the loop',
      );
    }
  }

  private item(
    slot: number,
    nominal: number,
    effective: number,
    jitter: number,
    source: FireItem['source'],
    next: NextTick,
  ): FireItem {
    const t = this.state.table;
    const spec = t.spec[slot]!;
    return {
      triggerId: t.triggerId[slot]!,
      workflowId: t.workflowId[slot]!,
      nodeId: t.nodeId[slot]!,
      expression: spec.expression,
      timezone: spec.timezone,
      nominal,
      effective,
      jitter,
      source,
      overlapSkip: t.overlapSkip(slot),
      ...next,
    };
  }

  // ------------------------------------------------------------------------------- housekeeping

  private startHousekeeping(): void {
    if (this.housekeeping) {
      this.housekeepingAgain = true;
      return;
    }
    this.housekeeping = this.housekeep(this.s.clock.now()).finally(() => {
      this.housekeeping = null;
      if (this.housekeepingAgain && this.running) {
        this.housekeepingAgain = false;
        this.startHousekeeping();
      }
    });
  }

  private async housekeep(now: number): Promise<void> {
    const { config, db, logger } = this.s;
    try {
      await takeOverExpiredClaims(this.s, this.firer);
      if (now >= this.nextReconcile) {
        this.nextReconcile = now + config.cron.reconcileIntervalMs;
        const since = Math.max(this.reconcileSince, this.loadedUpTo);
        this.reconcileSince = now - SKEW_MS;
        const changed = await changedWorkflowIds(db, since, MAX_REFRESH + 1);
        // Many changes (a bulk import, a long NOTIFY outage): one streamed reload beats a query per workflow.
        if (changed.length > MAX_REFRESH) this.loadedUpTo = Math.min(await this.sync.resync(), now);
        else for (const wf of changed) await this.sync.refresh(wf);
        const count = await countActiveSchedules(db);
        // Twice the same difference: not a deploy in flight but a change NOTIFY never told us about.
        if (count !== this.state.table.size && count === this.countMismatch) {
          logger.warn(
            { database: count, loop: this.state.table.size },
            'cron: loop out of step with the database; reloading',
          );
          this.loadedUpTo = Math.min(await this.sync.resync(), now);
        }
        this.countMismatch = count !== this.state.table.size ? count : -1;
      }
      if (now >= this.nextPrune) {
        this.nextPrune = now + 3_600_000;
        const removed = await pruneFires(db, now - config.cron.fireRetentionDays * 86_400_000);
        if (removed) logger.info({ removed }, 'cron: old fire records pruned');
      }
    } catch (err) {
      logger.warn({ err }, 'cron: housekeeping failed; will retry');
    }
  }
}
