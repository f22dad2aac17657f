import { randomUUID } from 'node:crypto';
import { Alarm, type Clock, coalescedWake, type TimerHandle } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, ts } from '../db/db.js';
import {
  type ClaimedDispatch,
  claimDue,
  completeDispatches,
  type DispatchUpdate,
  gateScheduled,
  releaseClaims,
  renewLeases,
} from '../db/dispatches.sql.js';
import { type EngineClient, EngineError, RESUMABLE_STATUSES } from '../engine/client.js';
import { type CoreErrorCode, errorCatalogue } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export interface DispatchOutcome {
  status: 'succeeded' | 'pending' | 'dead' | 'cancelled';
  executionId: string | null;
  resumed: boolean;
  errorCode: string | null;
  error: string | null;
}

/** Where a routed event should go instead of a new execution, when a paused execution waits for it. */
export interface ResumeTarget {
  executionId: string;
  interactionId: string | null;
  /** Called after the engine accepted the resume (e.g. to close a correlated wait). */
  onResumed?: () => Promise<void>;
  /**
   * Correlated resumes: an engine 404 ends the dispatch dead with this code (not retried) after the
   * callback ran, instead of starting a new execution (contract.md §4.3).
   */
  notFound?: { code: string; onNotFound: () => Promise<void> };
  /** An earlier attempt's resume was accepted but its outcome not written: record it, call nothing. */
  alreadyResumed?: boolean;
}

/**
 * Finds the execution a dispatch should resume, by resume mode. 'latest' is built in; 'correlated' is
 * supplied by the human-in-the-loop module.
 */
export type ResumeResolver = (d: ClaimedDispatch) => Promise<ResumeTarget | null>;

/** What one process's dispatcher holds in memory (health/detailed, and test failure messages). */
export interface DispatcherStats {
  /** Claimed rows waiting for a call slot, both lanes. */
  queued: number;
  /** Engine calls under way. */
  active: number;
  /** Room promised to ingest transactions under way. */
  reserved: number;
  polling: boolean;
  /** Held ticks before their instant, at or past the gate. */
  scheduled: number;
  /** Outcomes not yet written. */
  unwritten: number;
  writing: boolean;
}

type Delivery = { executionId: string; resumed: boolean; resumeOutcome: string | null };

/**
 * Ticks written ahead that one process holds until their instant. Far above what a lookahead of a second
 * or two holds at any schedule count this service runs (100k schedules: about 1,700 a second); past it a
 * tick is written unclaimed and polled when due.
 */
const MAX_SCHEDULED = 50_000;

/**
 * How long before a held tick's instant its gate is read, so that the read is done when the instant
 * comes and the engine call starts from memory. At 100k schedules on a loaded 2-core box, a read issued
 * 30 ms ahead completed up to 42 ms after the instant at p99 (10 ms after issue at the median) and the
 * engine call waited for it; issued 250 ms ahead, the slowest in 100 s completed 130 ms before the
 * instant. A pause or undeploy that commits later than this before the instant may not stop the tick, as
 * one committing just after the instant would not.
 */
export const GATE_LEAD_MS = 250;
/**
 * Held ticks whose gates fall due within this long are read together: the gate is read between
 * GATE_LEAD_MS minus this and GATE_LEAD_MS before the instant. Without it, 1,700 ticks a second
 * (100k schedules) made 300 reads a second of a few rows each, the largest share of PostgreSQL's CPU.
 */
const GATE_BATCH_MS = 50;

/** Cancellation of a tick written ahead whose trigger stopped before its instant. */
const INACTIVE_CODE = 'SCHED_TRIGGER_INACTIVE' satisfies CoreErrorCode;
const INACTIVE_MESSAGE = errorCatalogue().get(INACTIVE_CODE)!.message;

/**
 * Delivers the outbox to the engine. Rows arrive two ways: handed over in-process right after the ingest
 * commit (claimed at insert, so the first engine call needs no extra query), and by polling for due rows
 * (retries, rows of replicas that died, rows this process had no room for). Outcomes are written in
 * batches, fenced by the claim token.
 */
/** Outcome rows one statement writes at most, on its own or carried by an inbox write. */
const OUTCOMES_PER_WRITE = 1_000;
/**
 * While engine answers keep arriving, an own outcome write starts this long after the previous one ended
 * (scheduleFlush). It adds at most this long, plus one write, to the time between an engine's answer and
 * its outcome being durable, in which a crash makes the call be repeated (with the same Idempotency-Key).
 */
export const OUTCOME_WINDOW_MS = 20;

export class Dispatcher {
  /**
   * Two lanes, this one first: rows handed over at their commit or their instant (a webhook just
   * acknowledged, a cron tick now due) go before the `backlog` (the poll's rows: retries, rows another
   * replica left, rows written unclaimed such as a restart's catch-up burst; and ticks marked `late`
   * by the ingestor), which is late already, except that
   * the backlog gets every fourth start while both wait. Measured: with one lane, ticks stored just after
   * a restart waited up to 33 s behind 100k catch-up fires.
   */
  private readonly queue: ClaimedDispatch[] = [];
  private readonly backlog: ClaimedDispatch[] = [];
  private picks = 0;
  /** Calls under way that came from the backlog lane. */
  private activeBacklog = 0;
  /** Claim tokens this process still works on, with how many of their rows are unfinished. */
  private readonly held = new Map<string, number>();
  private renewTimer: TimerHandle | null = null;
  private active = 0;
  private reserved = 0;
  /** Ticks written ahead and claimed here, by not_before ascending; they join the queue at their instant. */
  private readonly scheduled: ClaimedDispatch[] = [];
  private reservedTicks = 0;
  private readonly scheduleAlarm: Alarm;
  private lastGateAt = 0;
  /** Ticks past their gate, by not_before ascending: they join the queue at their instant. */
  private readonly ready: ClaimedDispatch[] = [];
  private readonly readyAlarm: Alarm;
  /**
   * Rows waiting for the gate read (one in flight; what falls due meanwhile joins the next): held ticks,
   * and rows the poll claimed, which join the backlog lane once through.
   */
  private gatePending: ClaimedDispatch[] = [];
  private gatePendingPolled: ClaimedDispatch[] = [];
  private gating: Promise<void> | null = null;
  private readonly waiters = new Map<string, ((o: DispatchOutcome) => void)[]>();
  private pendingUpdates: DispatchUpdate[] = [];
  /** The outcomes being written now (taken from pendingUpdates by the flush under way). */
  private writingBatch: readonly DispatchUpdate[] = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  private lastOwnFlush = Number.NEGATIVE_INFINITY;
  /**
   * The ingestor, whose next inbox write takes the outcomes waiting while it is `busy` (a batch large
   * enough to carry them waits for it): one statement and one commit for both instead of one each (at
   * 1,000 webhooks/s there were as many outcome flushes as ingest commits). `carried` are the outcomes
   * riding on the write under way.
   */
  private carrier: { busy(): boolean } | null = null;
  private carried: readonly DispatchUpdate[] = [];
  private readonly pollAlarm: Alarm;
  /** Polls in a row that found nothing due: each doubles the wait, up to idlePollMaxMs. */
  private idlePolls = 0;
  private polling = false;
  /**
   * A poll asked for while one was under way (a retry falling due, a replay's kick): the poll under way
   * sets the next one no later than this, instead of its own idle wait, which would lose the request.
   */
  private pollAgainBy: number | null = null;
  private running = false;
  /** A pump of rows accepted at insert is due in the check phase (startAccepted). */
  private pumpScheduled = false;
  private readonly idle = new Set<() => void>();
  private readonly resolvers = new Map<string, ResumeResolver>();
  /** Benchmark hook: each engine call as it starts, with the clock's time. */
  observer: ((d: ClaimedDispatch, startedAt: number) => void) | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      engine: EngineClient;
      config: Config['dispatch'];
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    this.resolvers.set('latest', (d) => this.latestWaiting(d));
    this.pollAlarm = new Alarm(deps.clock, () => void this.poll());
    this.scheduleAlarm = new Alarm(deps.clock, () => this.gateDue());
    this.readyAlarm = new Alarm(deps.clock, () => this.releaseReady());
  }

  setResumeResolver(mode: 'correlated', resolver: ResumeResolver): void {
    this.resolvers.set(mode, resolver);
  }

  get leaseMs(): number {
    return this.deps.config.leaseMs;
  }

  private get capacity(): number {
    return this.deps.config.concurrency * 4;
  }

  /** Reserves room for up to n dispatches to be claimed at insert; returns how many may be. */
  reserve(n: number): number {
    if (!this.running) return 0;
    // The backlog lane does not count: rows the poll took never crowd out fresh ones.
    const free = Math.max(0, this.capacity - this.queue.length - this.active - this.reserved);
    const k = Math.min(n, free);
    this.reserved += k;
    return k;
  }

  /** Returns an unused reservation (the ingest transaction failed or claimed fewer). */
  unreserve(n: number): void {
    this.reserved = Math.max(0, this.reserved - n);
  }

  /**
   * Reserves room for up to n ticks (written ahead, or due now) to be claimed at insert; returns how many
   * may be. Separate from reserve(): their producer, the cron loop, bounds how many are under way.
   */
  reserveTicks(n: number): number {
    if (!this.running) return 0;
    const k = Math.min(n, Math.max(0, MAX_SCHEDULED - this.scheduled.length - this.reservedTicks));
    this.reservedTicks += k;
    return k;
  }

  unreserveTicks(n: number): void {
    this.reservedTicks = Math.max(0, this.reservedTicks - n);
  }

  /**
   * Takes dispatches claimed at insert, after their transaction committed: due ones to the queue, ticks
   * written ahead to wait for their instant. `unclaimedDueAt`: the earliest due time of rows written
   * without a claim (no room here), which the poll then picks up.
   */
  accept(
    claimed: readonly ClaimedDispatch[],
    reservedCount: number,
    reservedTicks = 0,
    unclaimedDueAt: number | null = null,
  ): void {
    this.unreserve(reservedCount);
    this.unreserveTicks(reservedTicks);
    this.hold(claimed);
    const now = this.deps.clock.now();
    const later: ClaimedDispatch[] = [];
    for (const d of claimed) {
      // Routed just now: a row whose instant passed during its own commit needs no second look.
      if (d.notBefore !== null && d.notBefore > now) later.push(d);
      // A tick handed to the pipeline over a second after its instant (a restart, a stall) is late
      // already: it waits in the backlog lane, behind ticks released at their instant and fresh events,
      // instead of making them late too. One just late stays here: behind a restart's backlog it would
      // wait far longer (bench/cron, 100k: up to 17 s when every late tick went there).
      else if (d.late) this.backlog.push(d);
      else this.queue.push(d);
    }
    mergeByNotBefore(this.scheduled, later);
    this.startAccepted();
    this.armSchedule();
    if (unclaimedDueAt !== null)
      this.pollWithin(Math.max(this.deps.config.pollIntervalMs, unclaimedDueAt - now));
  }

  /**
   * Starts the engine calls of rows accepted at insert in the check phase, after the answers of their
   * commit: those are written in the microtasks of its callback, so no acknowledgement waits for the
   * engine requests of its batch (each a JSON body and a socket write). Accepts in one turn share a pump.
   */
  private startAccepted(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private armSchedule(): void {
    const first = this.scheduled[0];
    if (!first || !this.running) return;
    const at = coalescedWake(first.notBefore! - GATE_LEAD_MS, this.lastGateAt, GATE_BATCH_MS);
    this.scheduleAlarm.within(Math.max(0, at - this.deps.clock.now()));
  }

  /** Held ticks whose instant is GATE_LEAD_MS away: through the gate, then ready for their instant. */
  private gateDue(): void {
    this.lastGateAt = this.deps.clock.now();
    const k = countDue(this.scheduled, this.lastGateAt + GATE_LEAD_MS);
    if (k > 0) this.gate(this.scheduled.splice(0, k));
    this.armSchedule();
  }

  /** Ticks past their gate whose instant has come: to the queue. */
  private releaseReady(): void {
    const k = countDue(this.ready, this.deps.clock.now());
    if (k > 0) {
      this.queue.push(...this.ready.splice(0, k));
      this.pump();
    }
    this.armReady();
  }

  private armReady(): void {
    const first = this.ready[0];
    if (!first || !this.running) return;
    this.readyAlarm.within(Math.max(0, first.notBefore! - this.deps.clock.now()));
  }

  /**
   * The first attempt of a tick written ahead reads, GATE_LEAD_MS before its instant, whether the row is
   * still this process's and its trigger still live: a pause or undeploy that committed by then cancels
   * the tick, as it would stop an event arriving then. Gate reads are batched, one in flight. Rows the
   * poll claimed (`polled`) are due already and pass the same gate into the backlog lane.
   */
  private gate(rows: readonly ClaimedDispatch[], polled = false): void {
    (polled ? this.gatePendingPolled : this.gatePending).push(...rows);
    if (this.gating || this.gatePending.length + this.gatePendingPolled.length === 0) return;
    const held = this.gatePending;
    const fromPoll = this.gatePendingPolled;
    this.gatePending = [];
    this.gatePendingPolled = [];
    const batch = [...held, ...fromPoll];
    this.gating = gateScheduled(this.deps.db, batch)
      .then(
        (live) => {
          const at = this.deps.clock.now();
          const gone: ClaimedDispatch[] = [];
          const ready: ClaimedDispatch[] = [];
          const pass = (d: ClaimedDispatch, polledRow: boolean) => {
            const verdict = live.get(d.id);
            if (verdict === undefined) gone.push(d);
            else if (!verdict) this.cancel(d, ts(at));
            else if (polledRow) this.backlog.push(d);
            else if (d.notBefore! > at) ready.push(d);
            else this.queue.push(d);
          };
          for (const d of held) pass(d, false);
          for (const d of fromPoll) pass(d, true);
          mergeByNotBefore(this.ready, ready);
          // Another dispatcher holds them now (our lease ran out): nothing of ours to write.
          this.letGo(gone);
          // Stopping: the queue and ready list are given back by stop(), not started.
          if (this.running) {
            this.pump();
            this.armReady();
          }
        },
        (err) => {
          this.deps.logger.warn({ err, dispatches: batch.length }, 'gate read of due ticks failed; retrying');
          // Back in line for the next attempt, which the poll interval paces.
          if (this.running) {
            const retryAt = this.deps.clock.now() + this.deps.config.pollIntervalMs;
            mergeByNotBefore(
              this.scheduled,
              batch.map((d) => ({ ...d, notBefore: retryAt })),
            );
            this.armSchedule();
          } else {
            this.gatePending.unshift(...held);
            this.gatePendingPolled.unshift(...fromPoll);
          }
        },
      )
      .finally(() => {
        this.gating = null;
        if (this.running) this.gate([]);
      });
  }

  private cancel(d: ClaimedDispatch, now: string): void {
    this.pendingUpdates.push({
      id: d.id,
      claimToken: d.claimToken,
      status: 'cancelled',
      nextAttemptAt: null,
      executionId: null,
      resumed: false,
      resumeOutcome: null,
      lastErrorCode: INACTIVE_CODE,
      lastError: INACTIVE_MESSAGE,
      lastHttpStatus: null,
      now,
    });
    this.deps.metrics.dispatchOutcomes.inc({ outcome: 'cancelled', code: INACTIVE_CODE });
    this.scheduleFlush();
    this.notify(d.id, {
      status: 'cancelled',
      executionId: null,
      resumed: false,
      errorCode: INACTIVE_CODE,
      error: INACTIVE_MESSAGE,
    });
  }

  private notify(id: string, outcome: DispatchOutcome): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const f of list) f(outcome);
  }

  private hold(claimed: readonly { claimToken: string }[]): void {
    for (const d of claimed) this.held.set(d.claimToken, (this.held.get(d.claimToken) ?? 0) + 1);
  }

  private letGo(claimed: readonly { claimToken: string }[]): void {
    for (const d of claimed) {
      const n = (this.held.get(d.claimToken) ?? 0) - 1;
      if (n > 0) this.held.set(d.claimToken, n);
      else this.held.delete(d.claimToken);
    }
  }

  /** Every third of a lease, extends the leases of the claims still held here. */
  private scheduleRenewal(): void {
    const every = Math.max(1_000, Math.floor(this.deps.config.leaseMs / 3));
    this.renewTimer = this.deps.clock.setTimer(() => {
      const tokens = [...this.held.keys()];
      const until = ts(this.deps.clock.now() + this.deps.config.leaseMs);
      void renewLeases(this.deps.db, tokens, until)
        .catch((err) => this.deps.logger.warn({ err }, 'renewing dispatch leases failed'))
        .finally(() => {
          if (this.running) this.scheduleRenewal();
        });
    }, every);
  }

  /**
   * Resolves with the outcome of the dispatch's engine call on this process: one answered and not yet
   * written (the row still says in_flight, e.g. for a retried manual request right after the first's
   * answer), else the next one; undefined on timeout.
   */
  waitFor(id: string, timeoutMs: number): Promise<DispatchOutcome | undefined> {
    const u =
      this.writingBatch.find((x) => x.id === id) ??
      this.carried.find((x) => x.id === id) ??
      this.pendingUpdates.findLast((x) => x.id === id);
    if (u)
      return Promise.resolve({
        status: u.status,
        executionId: u.executionId,
        resumed: u.resumed,
        errorCode: u.lastErrorCode,
        error: u.lastError,
      });
    return new Promise((resolve) => {
      let done = false;
      const timer = this.deps.clock.setTimer(() => {
        if (done) return;
        done = true;
        const list = this.waiters.get(id)?.filter((f) => f !== finish);
        if (list?.length) this.waiters.set(id, list);
        else this.waiters.delete(id);
        resolve(undefined);
      }, timeoutMs);
      const finish = (o: DispatchOutcome) => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(o);
      };
      const list = this.waiters.get(id) ?? [];
      list.push(finish);
      this.waiters.set(id, list);
    });
  }

  /**
   * Takes dispatches handed over at insert from now on; polls the outbox at once unless told not to (the
   * start-up defers the first poll until the runtimes have restored, then kicks).
   */
  start(opts: { poll?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    if (opts.poll !== false) this.pollAlarm.set(0);
    this.scheduleRenewal();
  }

  /** Polls now (after a replay, or when a test moved the clock). */
  kick(): void {
    this.pollWithin(0);
  }

  private pollAfterThis(ms: number): void {
    const at = this.deps.clock.now() + ms;
    this.pollAgainBy = Math.min(this.pollAgainBy ?? at, at);
  }

  /**
   * Stops claiming, lets engine calls under way finish (each bounded by twice the engine timeout), gives
   * unstarted claims back and writes every outcome.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    // Rows accepted this turn start as they would have, and are waited for below like the calls under way.
    if (this.pumpScheduled) this.pump();
    this.running = false;
    this.pollAlarm.cancel();
    this.scheduleAlarm.cancel();
    this.readyAlarm.cancel();
    this.renewTimer?.cancel();
    this.renewTimer = null;
    await this.gating;
    // Held ticks go back with their not_before: whoever takes them calls the engine no earlier.
    const unstarted = [
      ...this.queue.splice(0),
      ...this.backlog.splice(0),
      ...this.ready.splice(0),
      ...this.scheduled.splice(0),
      ...this.gatePending.splice(0),
      ...this.gatePendingPolled.splice(0),
    ];
    this.letGo(unstarted);
    const tokens = [...new Set(unstarted.map((d) => d.claimToken))];
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    await this.flush();
    if (tokens.length > 0) {
      // Tokens are per claim batch; a batch partly delivered keeps its finished rows (already written).
      await releaseClaims(this.deps.db, tokens, ts(this.deps.clock.now())).catch((err) =>
        this.deps.logger.warn({ err }, 'could not release claims; their leases will expire'),
      );
    }
  }

  private get queued(): number {
    return this.queue.length + this.backlog.length;
  }

  stats(): DispatcherStats {
    return {
      queued: this.queued,
      active: this.active,
      reserved: this.reserved,
      polling: this.polling,
      unwritten: this.pendingUpdates.length + this.carried.length,
      writing: this.flushing !== null,
      scheduled:
        this.scheduled.length + this.gatePending.length + this.gatePendingPolled.length + this.ready.length,
    };
  }

  /**
   * Brings the next poll forward to at most ms from now: work this process knows falls due (a retry it
   * scheduled, rows it could not claim). Work it cannot know of (another replica's expired lease) waits at
   * most idlePollMaxMs.
   */
  private pollWithin(ms: number): void {
    if (!this.running) return;
    this.idlePolls = 0;
    if (this.polling) this.pollAfterThis(ms);
    else this.pollAlarm.within(ms);
  }

  /** The wait after a poll: none when it filled up, the busy interval after work, doubling while idle. */
  private nextPollDelay(claimed: number, limit: number): number {
    const { pollIntervalMs, idlePollMaxMs } = this.deps.config;
    if (claimed > 0 && claimed === limit) return 0;
    if (claimed > 0 || limit === 0) {
      this.idlePolls = 0;
      return pollIntervalMs;
    }
    this.idlePolls = Math.min(this.idlePolls + 1, 20);
    return Math.max(pollIntervalMs, Math.min(idlePollMaxMs, pollIntervalMs * 2 ** (this.idlePolls - 1)));
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    if (this.polling) {
      this.pollAfterThis(0);
      return;
    }
    this.polling = true;
    let claimedCount = 0;
    let limit = 0;
    let failed = false;
    try {
      const free = this.capacity - this.queued - this.active - this.reserved;
      if (free > 0) {
        const now = this.deps.clock.now();
        limit = Math.min(free, 500);
        const claimed = await claimDue(this.deps.db, {
          now: ts(now),
          leaseUntil: ts(now + this.deps.config.leaseMs),
          limit,
          claimToken: randomUUID(),
        });
        if (claimed.length > 0) {
          this.hold(claimed);
          const gated: ClaimedDispatch[] = [];
          for (const d of claimed) (d.notBefore === null ? this.backlog : gated).push(d);
          this.pump();
          if (gated.length) this.gate(gated, true);
        }
        claimedCount = claimed.length;
      }
    } catch (err) {
      failed = true;
      this.deps.logger.warn({ err }, 'claiming due dispatches failed; will retry');
    } finally {
      this.polling = false;
      if (this.running) {
        let delay = failed ? this.deps.config.pollIntervalMs : this.nextPollDelay(claimedCount, limit);
        if (this.pollAgainBy !== null) {
          delay = Math.min(delay, Math.max(0, this.pollAgainBy - this.deps.clock.now()));
          this.pollAgainBy = null;
        }
        this.pollAlarm.set(delay);
      }
    }
  }

  private pump(): void {
    const { concurrency } = this.deps.config;
    // The backlog never holds every call slot: fresh rows arriving during a burst of slow backlog calls
    // (a restart's catch-up) find one free.
    const backlogSlots = Math.ceil((concurrency * 3) / 4);
    while (this.active < concurrency && this.queued > 0) {
      // Every fourth start goes to the backlog when both lanes wait, so a steady stream of fresh rows
      // cannot starve retries.
      const fromBacklog =
        this.backlog.length > 0 &&
        this.activeBacklog < backlogSlots &&
        (this.queue.length === 0 || ++this.picks % 4 === 0);
      if (!fromBacklog && this.queue.length === 0) break;
      const d = fromBacklog ? this.backlog.shift()! : this.queue.shift()!;
      this.active++;
      if (fromBacklog) this.activeBacklog++;
      this.deps.metrics.dispatchBacklog.set(this.queued + this.active);
      void this.handle(d).finally(() => {
        this.active--;
        if (fromBacklog) this.activeBacklog--;
        this.deps.metrics.dispatchBacklog.set(this.queued + this.active);
        if (this.active === 0 && this.queued === 0) {
          for (const f of this.idle) f();
          this.idle.clear();
        }
        this.pump();
      });
    }
  }

  private async handle(d: ClaimedDispatch): Promise<void> {
    const { clock, config, metrics, logger } = this.deps;
    let update: DispatchUpdate;
    let outcome: DispatchOutcome;
    try {
      this.observer?.(d, clock.now());
      const r = await this.deliver(d);
      const now = clock.now();
      update = {
        id: d.id,
        claimToken: d.claimToken,
        status: 'succeeded',
        nextAttemptAt: null,
        executionId: r.executionId,
        resumed: r.resumed,
        resumeOutcome: r.resumeOutcome,
        lastErrorCode: null,
        lastError: null,
        lastHttpStatus: null,
        now: ts(now),
      };
      outcome = {
        status: 'succeeded',
        executionId: r.executionId,
        resumed: r.resumed,
        errorCode: null,
        error: null,
      };
      metrics.dispatchOutcomes.inc({ outcome: r.resumed ? 'resumed' : 'succeeded', code: '' });
    } catch (err) {
      const e =
        err instanceof EngineError
          ? err
          : new EngineError('SCHED_INTERNAL', (err as Error)?.message ?? String(err), { retryable: true });
      if (!(err instanceof EngineError))
        logger.error({ err, dispatch_id: d.id }, 'dispatch failed unexpectedly');
      const dead = !e.retryable || d.attempts >= config.maxAttempts;
      const now = clock.now();
      const retryInMs = dead ? null : this.backoff(d.attempts, e.retryAfterMs);
      // A retry this process scheduled: the next poll comes when it falls due, whatever the idle back-off.
      if (retryInMs !== null) this.pollWithin(retryInMs);
      update = {
        id: d.id,
        claimToken: d.claimToken,
        status: dead ? 'dead' : 'pending',
        nextAttemptAt: retryInMs === null ? null : ts(now + retryInMs),
        executionId: null,
        resumed: false,
        resumeOutcome: (err as { resumeOutcome?: string }).resumeOutcome ?? null,
        lastErrorCode: e.code,
        lastError: e.message.slice(0, 1000),
        lastHttpStatus: e.httpStatus ?? null,
        now: ts(now),
      };
      outcome = {
        status: update.status as 'pending' | 'dead',
        executionId: null,
        resumed: false,
        errorCode: e.code,
        error: e.message,
      };
      metrics.dispatchOutcomes.inc({ outcome: dead ? 'dead' : 'retry', code: e.code });
      logger[dead ? 'warn' : 'debug'](
        { dispatch_id: d.id, workflow_id: d.workflowId, attempts: d.attempts, code: e.code, err: e.message },
        dead ? 'dispatch is dead' : 'dispatch will be retried',
      );
    }
    this.pendingUpdates.push(update);
    this.scheduleFlush();
    this.notify(d.id, outcome);
  }

  private async deliver(d: ClaimedDispatch): Promise<Delivery> {
    const { engine, metrics } = this.deps;
    let resumeOutcome: string | null = null;
    const resolver = this.resolvers.get(d.resumeMode);
    if (resolver) {
      const target = await resolver(d);
      if (target?.alreadyResumed)
        return { executionId: target.executionId, resumed: true, resumeOutcome: 'resumed' };
      if (target) {
        const end = metrics.engineLatency.startTimer({ operation: 'resume' });
        const r = await engine
          .resume(
            target.executionId,
            { resume_data: d.triggerData, interaction_id: target.interactionId },
            d.id,
          )
          .finally(end);
        if (r === 'resumed') {
          await target.onResumed?.();
          return { executionId: target.executionId, resumed: true, resumeOutcome: 'resumed' };
        }
        if (target.notFound) {
          await target.notFound.onNotFound();
          const e = new EngineError(
            target.notFound.code,
            `the engine answered 404 to resuming execution ${target.executionId}`,
            { retryable: false, httpStatus: 404 },
          );
          throw Object.assign(e, { resumeOutcome: target.notFound.code });
        }
        // Engine v2 has no resume route (contract.md §4.3): run a new execution and say so on the row.
        resumeOutcome = 'SCHED_RESUME_NOT_FOUND';
      }
    }
    const end = metrics.engineLatency.startTimer({ operation: 'execute' });
    try {
      const { executionId } = await engine
        .execute({
          workflowId: d.workflowId,
          userId: d.userId,
          triggerType: d.kind,
          triggerData: d.triggerData,
          startFromNode: d.nodeId,
          idempotencyKey: d.id,
        })
        .finally(end);
      return { executionId, resumed: false, resumeOutcome };
    } catch (err) {
      if (resumeOutcome && err && typeof err === 'object') Object.assign(err, { resumeOutcome });
      throw err;
    }
  }

  /** 'latest' mode: the most recent execution of the workflow waiting for a human, if any. */
  private async latestWaiting(d: ClaimedDispatch): Promise<ResumeTarget | null> {
    const end = this.deps.metrics.engineLatency.startTimer({ operation: 'list_executions' });
    const list = await this.deps.engine.listExecutions(d.workflowId, 50).finally(end);
    const waiting = list
      .filter((e) => RESUMABLE_STATUSES.has(e.status))
      .sort((a, b) => b.startTime - a.startTime)[0];
    return waiting ? { executionId: waiting.id, interactionId: null } : null;
  }

  /** Exponential back-off with equal jitter, never below the engine's Retry-After. */
  private backoff(attempts: number, retryAfterMs: number | undefined): number {
    const { backoffBaseMs, backoffCapMs } = this.deps.config;
    const exp = Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, 3_600_000)));
  }

  /**
   * Outcomes finishing in the same turn of the event loop are written by one statement: waiting one
   * setImmediate lets every engine answer that arrived together join it (otherwise a synchronous
   * database such as PGlite would write them one by one). While answers keep coming, an own write
   * starts OUTCOME_WINDOW_MS after the previous one ended: cron ticks are called spread over each
   * second, and answered one by one they made a statement of two rows each (bench/cron, 100k: 540 a
   * second).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Real time, not the injected clock: this paces statements, it is no part of any schedule.
    const untilDue = () => {
      const now = performance.now();
      return coalescedWake(now, this.lastOwnFlush, OUTCOME_WINDOW_MS) - now;
    };
    const run = () => {
      this.flushScheduled = false;
      // The ingestor takes them with its next write, or calls again once it has none to make; a write
      // under way schedules the next when it ends.
      if (this.carrier?.busy() || this.flushing || this.pendingUpdates.length === 0) return;
      // Armed while a write was under way, by the end of the one before: the window runs from this one's.
      if (untilDue() > 0) return this.scheduleFlush();
      void this.write(false);
    };
    const wait = untilDue();
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  /** Lets `carrier` write outcomes with its own statements while it is busy (takeOutcomes). */
  carryOutcomesWith(carrier: { busy(): boolean }): void {
    this.carrier = carrier;
  }

  /**
   * Outcomes for the carrier's next write, up to OUTCOMES_PER_WRITE; none while a flush of the
   * dispatcher's own is under way (it writes whatever waits when it ends). Report back with
   * outcomesCarried.
   */
  takeOutcomes(): readonly DispatchUpdate[] {
    if (this.flushing || this.carried.length > 0 || this.pendingUpdates.length === 0) return [];
    this.carried = this.pendingUpdates.splice(0, OUTCOMES_PER_WRITE);
    return this.carried;
  }

  /** The write that took `batch` committed (written) or failed (they wait for the next write). */
  outcomesCarried(batch: readonly DispatchUpdate[], written: boolean): void {
    if (batch.length === 0) return;
    this.carried = [];
    if (written) this.letGo(batch);
    else this.pendingUpdates.unshift(...batch);
  }

  /** The carrier is done for now: outcomes left waiting get a write of their own. */
  carrierIdle(): void {
    if (this.pendingUpdates.length > 0) this.scheduleFlush();
  }

  /** Writes every finished outcome (shutdown, tests): waits out a paced write, then writes the rest. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pendingUpdates.length > 0) await this.write(true);
  }

  /**
   * One own write: of everything waiting (`all`), or paced, of one statement's worth, the next starting
   * OUTCOME_WINDOW_MS after this one ends. Paced from the end: a write queued behind ingest commits (PGlite
   * has one connection) would otherwise be followed at once by another of the few answers that came
   * meanwhile (PGlite at an even 1,000 webhooks/s: 160 outcome statements a second; 33 paced from the end).
   */
  private write(all: boolean): Promise<void> {
    // Cleared by a callback chained here, which runs after the assignment: an async body that ended
    // at once, clearing in its own finally, would leave a settled promise here and no outcome would be
    // written again (CI's stalls of stop 9 and 10, and bench/ingest's outcomes after a few seconds).
    const run = this.writeOutcomes(all).finally(() => {
      if (this.flushing === run) this.flushing = null;
      this.lastOwnFlush = performance.now();
      if (this.pendingUpdates.length > 0) this.scheduleFlush();
    });
    this.flushing = run;
    return run;
  }

  /** Called with outcomes waiting: one statement, then more only for `all` or a backlog past one statement. */
  private async writeOutcomes(all: boolean): Promise<void> {
    do {
      const batch = this.pendingUpdates.splice(0, OUTCOMES_PER_WRITE);
      this.writingBatch = batch;
      try {
        await completeDispatches(this.deps.db, batch);
        this.writingBatch = [];
        this.letGo(batch);
      } catch (err) {
        this.pendingUpdates.unshift(...batch);
        this.writingBatch = [];
        this.deps.logger.warn({ err }, 'writing dispatch outcomes failed; retrying');
        await this.deps.clock.sleep(500);
        if (!this.running && this.active === 0) {
          // Shutting down with the database gone: the leases expire and the rows are delivered again.
          return;
        }
      }
    } while (this.pendingUpdates.length > 0 && (all || this.pendingUpdates.length >= OUTCOMES_PER_WRITE));
  }
}

const byNotBefore = (a: ClaimedDispatch, b: ClaimedDispatch) => a.notBefore! - b.notBefore!;

/**
 * Adds a commit's ticks to a list sorted by not_before. A batch comes in nominal order, which jitter
 * shuffles against not_before: sorted once and appended (the usual case, every tick later than those
 * held) instead of one insertion each (1,700 of them took milliseconds of the event loop at 100k).
 */
function mergeByNotBefore(list: ClaimedDispatch[], incoming: ClaimedDispatch[]): void {
  if (incoming.length === 0) return;
  incoming.sort(byNotBefore);
  const last = list[list.length - 1];
  if (last && last.notBefore! > incoming[0]!.notBefore!) {
    for (const d of incoming) list.push(d);
    list.sort(byNotBefore);
  } else for (const d of incoming) list.push(d);
}

/** How many at the head of a list sorted by not_before are due at `at`. */
function countDue(list: readonly ClaimedDispatch[], at: number): number {
  let k = 0;
  while (k < list.length && list[k]!.notBefore! <= at) k++;
  return k;
}
