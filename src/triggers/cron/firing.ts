import type { TimerHandle } from '../../clock.js';
import type { Lock } from '../../locks/locks.js';
import type { IngestOutcome } from '../../pipeline/ingestor.js';
import type { Services } from '../../services.js';
import { checkOverlap } from './overlap.js';
import { cronPayload, type FireItem, idempotencyKey, type MissedItem } from './payload.js';
import { claimFires, type FinishRow, type FireSource, finishFires, fireKey, recordMissed } from './store.js';

export type { FireItem, MissedItem } from './payload.js';

/** Ticks per claim statement. */
const MAX_CLAIM = 2_000;
/**
 * Claim statements under way at once. One: a claim is short (its ticks' delivery does not hold it), and
 * every tick falling due meanwhile joins the next statement, so fewer, larger statements load the database
 * less. Measured (bench/cron, PostgreSQL): claim lateness p99 11 ms at 10k schedules with one against
 * 14-15 ms with four (60-s runs, two each); at 100k the difference drowns in the run-to-run spread.
 */
const CLAIMS_IN_FLIGHT = 1;
/**
 * Claimed ticks whose events may be on their way to the inbox at once. Claims stop past it, so when the
 * pipeline cannot keep up the claims run late (and say so) instead of piling up in memory past their lease
 * (8,000 events take the pipeline about 5 s here, the lease is 15 s). Several full batches: with one
 * batch's worth, a burst after a restart held every claim until a whole 2,000-tick delivery ended, and
 * lateness reached 2.8 s (bench/cron, 100k).
 */
const MAX_DELIVERING = 4 * MAX_CLAIM;

export interface ClaimObservation {
  items: readonly FireItem[];
  won: ReadonlySet<string>;
  claimedAt: number;
}

/**
 * Turns due ticks into events. A tick is claimed by inserting its cron_fires row (the primary key decides
 * between replicas), ingested through the normal pipeline, and its outcome written; each step is one
 * statement per batch, and outcomes ride along with the next claim statement while the loop is busy. A
 * claim whose owner dies before the event is stored is taken over after its lease (takeover.ts). With
 * Redis, one replica per second of ticks claims first and the others check after CRON_LOCK_WAIT_MS, which
 * only spares the database the contention: the claim stays the decision.
 */
export class Firer {
  private readonly queue: FireItem[] = [];
  private claiming = 0;
  /** Ticks claimed and not yet through deliver(). */
  private delivering = 0;
  private finishes: FinishRow[] = [];
  private readonly held = new Map<number, Lock>();
  private readonly deferred: { at: number; items: FireItem[] }[] = [];
  private deferTimer: TimerHandle | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;
  /** Test and benchmark hook: every claim statement with the keys it won. */
  observer: ((o: ClaimObservation) => void) | undefined;

  constructor(
    private readonly s: Services,
    private readonly onClaimLateness: (seconds: number, source: FireSource) => void = () => {},
  ) {}

  submit(fires: FireItem[], missed: MissedItem[]): void {
    const now = this.s.clock.now();
    if (missed.length) this.track(recordMissed(this.s.db, missed, now));
    const ahead: FireItem[] = [];
    for (const it of fires) {
      // An overlap check asks the engine about the previous execution: asked ahead, the answer could be
      // stale by the instant, so these ticks are claimed at their instant, as without a lookahead.
      if (it.overlapSkip && it.effective > now) this.defer([it], it.effective);
      else ahead.push(it);
    }
    if (!ahead.length) return;
    this.queue.push(...ahead);
    this.drain();
  }

  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Stops claiming and waits for the batches under way, their events stored (the ingestor stops after the
   * runtimes); a claim whose event could not be stored is taken over after its lease.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deferTimer?.cancel();
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    await this.flushFinishes();
    for (const lock of this.held.values()) await this.s.locks.release(lock);
    this.held.clear();
  }

  /** Writes the outcomes waiting for a claim statement to carry them. */
  async flushFinishes(): Promise<void> {
    const rows = this.finishes;
    this.finishes = [];
    if (!rows.length) return;
    await finishFires(this.s.db, rows).catch((err) =>
      // Left claimed: the takeover finds their events and marks them fired.
      this.s.logger.warn({ err, fires: rows.length }, 'cron: writing fire outcomes failed'),
    );
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.then(
      () => this.inflight.delete(p),
      (err) => {
        this.inflight.delete(p);
        this.s.logger.error({ err }, 'cron: a batch of fires failed');
      },
    );
    return p;
  }

  /**
   * Group commit for claims: ticks that fall due while claims are in flight wait for the next statement
   * and share it, so a busy second costs a few statements instead of one per timer wake-up, and an idle
   * one adds no delay.
   */
  private drain(): void {
    while (
      !this.stopped &&
      this.claiming < CLAIMS_IN_FLIGHT &&
      this.delivering < MAX_DELIVERING &&
      this.queue.length
    ) {
      const batch = this.queue.splice(0, MAX_CLAIM);
      this.claiming++;
      const done = () => {
        this.claiming--;
        this.drain();
        this.flushWhenIdle();
      };
      this.track(this.claimFirst(batch)).then(done, done);
    }
  }

  /** Outcomes normally ride on the next claim statement; with none coming, they are written now. */
  private flushWhenIdle(): void {
    if (this.claiming === 0 && this.finishes.length) this.track(this.flushFinishes());
  }

  /**
   * Claims a batch and returns once the claim is committed; the claimed ticks' delivery goes on without
   * holding the claim slot, so the next second's claims never queue behind this second's event writes.
   */
  private async claimFirst(items: FireItem[]): Promise<void> {
    if (this.s.locks.kind !== 'redis') {
      await this.claim(items);
      return;
    }
    const mine: FireItem[] = [];
    const later: FireItem[] = [];
    const buckets = new Map<number, FireItem[]>();
    for (const it of items) {
      const b = Math.floor(it.effective / 1000);
      const list = buckets.get(b);
      if (list) list.push(it);
      else buckets.set(b, [it]);
    }
    for (const [b, list] of buckets) {
      let lock = this.held.get(b);
      if (!lock) {
        lock = (await this.s.locks.acquire(`cron:tick:${b}`, this.s.config.cron.claimLeaseMs)) ?? undefined;
        if (lock) this.held.set(b, lock);
      }
      (lock ? mine : later).push(...list);
    }
    const old = Math.floor(this.s.clock.now() / 1000) - 5;
    for (const [b, lock] of this.held) {
      if (b >= old) continue;
      this.held.delete(b);
      void this.s.locks.release(lock);
    }
    if (later.length) this.defer(later);
    if (mine.length) await this.claim(mine);
  }

  /**
   * Ticks another replica holds the lock for, that failed to claim, or that wait for their instant:
   * claimed here later (by default after CRON_LOCK_WAIT_MS).
   */
  private defer(items: FireItem[], at = this.s.clock.now() + this.s.config.cron.lockWaitMs): void {
    let i = this.deferred.length;
    while (i > 0 && this.deferred[i - 1]!.at > at) i--;
    this.deferred.splice(i, 0, { at, items });
    if (i === 0) {
      this.deferTimer?.cancel();
      this.armDeferred();
    }
  }

  private armDeferred(): void {
    const first = this.deferred[0];
    if (!first || this.stopped) {
      this.deferTimer = null;
      return;
    }
    this.deferTimer = this.s.clock.setTimer(() => {
      const now = this.s.clock.now();
      while (this.deferred[0] && this.deferred[0].at <= now) {
        const { items } = this.deferred.shift()!;
        this.track(this.claimAndDeliver(items).then(() => this.flushFinishes()));
      }
      this.armDeferred();
    }, first.at - this.s.clock.now());
  }

  /** Claims the ticks and delivers those won; resolves once they are delivered. */
  async claimAndDeliver(items: FireItem[]): Promise<void> {
    await (await this.claim(items)).delivered;
  }

  /** Claims the ticks; resolves once the claim is committed, with the delivery of those won under way. */
  // The delivery is wrapped: an async function returning a promise would wait for it.
  private async claim(items: FireItem[]): Promise<{ delivered?: Promise<void> }> {
    const { clock, db, instanceId, config } = this.s;
    const carry = this.finishes;
    this.finishes = [];
    let won: Set<string>;
    try {
      const now = clock.now();
      won = await claimFires(
        db,
        items,
        { now, by: instanceId, leaseUntil: now + config.cron.claimLeaseMs },
        carry,
      );
    } catch (err) {
      // Nothing is durable without the database: the same ticks are tried again shortly, late but once.
      this.finishes.unshift(...carry);
      this.s.logger.warn({ err, fires: items.length }, 'cron: claiming fires failed; retrying');
      if (!this.stopped) this.defer(items);
      return {};
    }
    const claimedAt = clock.now();
    const mine = items.filter((it) => won.has(fireKey(it.workflowId, it.nodeId, it.nominal)));
    for (const it of mine) this.onClaimLateness(Math.max(0, claimedAt - it.effective) / 1000, it.source);
    this.observer?.({ items, won, claimedAt });
    if (!mine.length) return {};
    this.delivering += mine.length;
    const delivered = this.track(
      this.deliver(mine)
        .then(() => {})
        .finally(() => {
          this.delivering -= mine.length;
          this.drain();
          this.flushWhenIdle();
        }),
    );
    return { delivered };
  }

  /**
   * Overlap check and ingest of claimed ticks; their outcomes (fired, skipped, dropped) are queued for the
   * next claim statement or flushFinishes. A tick whose ingest fails stays claimed until its lease ends.
   * Ticks without an overlap check are stored at once: an engine slow to answer a check (up to twice
   * ENGINE_TIMEOUT_MS) delays only the ticks of the triggers being checked.
   */
  async deliver(items: FireItem[]): Promise<Map<string, IngestOutcome>> {
    const outcomes = new Map<string, IngestOutcome>();
    const checked = new Map<string, FireItem[]>();
    const plain: FireItem[] = [];
    for (const it of [...items].sort((a, b) => a.nominal - b.nominal)) {
      if (!it.overlapSkip) {
        plain.push(it);
        continue;
      }
      const t = `${it.workflowId}\u0000${it.nodeId}`;
      const list = checked.get(t);
      if (list) list.push(it);
      else checked.set(t, [it]);
    }
    await Promise.all([
      this.store(plain, outcomes),
      ...[...checked.values()].map(async (ticks) => {
        // The earliest tick of the trigger is checked; later ones in the same batch overlap with it.
        const [first, ...rest] = ticks as [FireItem, ...FireItem[]];
        const why = 'overlap: an earlier tick of this trigger fires in the same batch';
        for (const it of rest) this.finishes.push(row(it, 'skipped', why, null, null));
        const verdict = await checkOverlap(this.s, first.workflowId, first.nodeId);
        if (verdict.skip) this.finishes.push(row(first, 'skipped', verdict.reason, null, null));
        else await this.store([first], outcomes);
      }),
    ]);
    return outcomes;
  }

  /** Ingests ticks as events and queues their outcomes. */
  private async store(items: FireItem[], outcomes: Map<string, IngestOutcome>): Promise<void> {
    const { ingestor, clock } = this.s;
    const results = await Promise.allSettled(
      items.map((it) => {
        const now = clock.now();
        // A tick written ahead fires at its instant: the dispatch waits for it (Dispatcher).
        const ahead = it.effective > now;
        const firedAt = ahead ? it.effective : now;
        return ingestor
          .ingest({
            kind: 'CRON',
            idempotencyKey: idempotencyKey(it),
            indexKey: it.expression,
            triggerIds: [it.triggerId],
            receivedAt: now,
            payload: cronPayload(it, firedAt),
            // On-time ticks carry their instant (catch-up fires do not: they are late by design).
            ...(it.source === 'schedule' ? { dueAt: it.effective } : {}),
          })
          .then((o) => ({ o, firedAt }));
      }),
    );
    results.forEach((r, i) => {
      const it = items[i]!;
      if (r.status === 'rejected') {
        const code = (r.reason as { code?: string }).code;
        // Once the ingestor refuses new events (shutdown), the claim is taken over after its lease.
        this.s.logger[code === 'SCHED_SHUTTING_DOWN' ? 'debug' : 'warn'](
          { err: r.reason, workflow_id: it.workflowId, node_id: it.nodeId },
          'cron: storing a fire failed; it stays claimed until its lease ends',
        );
        return;
      }
      const { o, firedAt } = r.value;
      outcomes.set(fireKey(it.workflowId, it.nodeId, it.nominal), o);
      if (o.duplicate || o.dispatches.length > 0)
        this.finishes.push(row(it, 'fired', null, o.eventId, firedAt));
      else {
        const why = o.routing.find((d) => !d.matched)?.reason ?? 'the trigger is no longer deployed';
        this.finishes.push(row(it, 'dropped', why, o.eventId, firedAt));
      }
    });
  }
}

function row(
  it: FireItem,
  outcome: FinishRow['outcome'],
  reason: string | null,
  eventId: string | null,
  firedAt: number | null,
): FinishRow {
  return {
    workflowId: it.workflowId,
    nodeId: it.nodeId,
    nominal: it.nominal,
    outcome,
    reason,
    eventId,
    firedAt,
  };
}
