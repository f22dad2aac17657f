import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type Db, type Queryable, ts } from '../db/db.js';
import { type ClaimedDispatch, claimedAtInsert, type NewDispatchRow } from '../db/dispatches.sql.js';
import { findEventIdsByKeys, type NewEventRow } from '../db/events.sql.js';
import { writeInbox } from '../db/inbox.sql.js';
import { findByIds } from '../db/triggers.sql.js';
import { AppError, appError, SQLSTATE, sqlState } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Registry } from '../triggers/registry.js';
import type { InboundEvent, TriggerRow } from '../triggers/types.js';
import type { Dispatcher } from './dispatcher.js';
import { type IndexKeyLookup, indexKeyOf, RouteCache, triggersByKey } from './routeCache.js';

export interface RoutingDecision {
  workflow_id: string;
  trigger_node_id: string;
  matched: boolean;
  reason?: string;
}

export interface IngestOutcome {
  eventId: string;
  duplicate: boolean;
  matched: number;
  dispatches: { id: string; workflowId: string; nodeId: string }[];
  routing: RoutingDecision[];
}

export interface DirectedEvent extends InboundEvent {
  /** Aim the event at these triggers (a cron fire, "run now") instead of looking up its index key. */
  triggerIds?: readonly string[];
  /**
   * Extra writes of the ingress, run inside the ingest transaction once the event row is new (not a
   * duplicate): e.g. the GitHub delivery record, so it commits or rolls back with the event.
   */
  onStored?: (q: Queryable, eventId: string) => Promise<void>;
  /**
   * A tick's instant (epoch ms). Still ahead at routing: its dispatches are not called before it, and the
   * first call checks that the trigger is still live then (Dispatcher, gate). Either way the dispatches
   * are held from the dispatcher's room for ticks, not its room for fresh events.
   */
  dueAt?: number;
}

interface Pending {
  event: DirectedEvent;
  resolve: (o: IngestOutcome) => void;
  reject: (e: unknown) => void;
}

interface Routed {
  p: Pending;
  eventId: string;
  routing: RoutingDecision[];
  matches: { trigger: TriggerRow; triggerData: Record<string, unknown> }[];
}

/**
 * Commits under way at once. Everything arriving meanwhile waits for the next one and shares it: fewer,
 * larger commits. bench/ingest on PostgreSQL, one against four: 2,304/s against 2,155/s at most, ack p99
 * 16 ms against 27 ms at 1,000/s, as four small commits cost more round trips and CPU than one large one
 * on a box whose cores the database shares.
 */
const COMMITS_IN_FLIGHT = 1;

/**
 * A tick received this long after its instant (a restart, a stall) is late already: its dispatch waits in
 * the dispatcher's backlog lane instead of ahead of ticks on time. Judged at receipt, so a slow commit
 * does not make an on-time tick late.
 */
export const LATE_TICK_MS = 1_000;
const lateTick = (ev: DirectedEvent) => ev.dueAt !== undefined && ev.receivedAt - ev.dueAt > LATE_TICK_MS;

/**
 * Outcomes of engine calls ride on an inbox write only when it commits at least this many events: under
 * load, where each saves a transaction and a WAL flush. A smaller write, at a quieter rate, stays the
 * prepared statement without them (the outcomes make it one planned per call, about twice as slow), since
 * its events' acknowledgements wait for it; the dispatcher then writes the outcomes itself, at most every
 * 20 ms. bench/ingest on PostgreSQL, two 20-s runs each against carrying at any size: ack p50 at an
 * even 1,000/s (batches of 1-2 events) 1.8-1.9 ms against 2.3-2.4, the maximum rate 4,768-5,020/s
 * against 4,297-4,408 (p99s moved with the VM both ways).
 */
export const CARRY_MIN_BATCH = 8;

/** Times a batch is routed by the route cache before it reads trigger_index itself (triggers changing fast). */
const STALE_RETRIES = 3;

/**
 * The durable half of the pipeline: routes events and writes them with their dispatches in one
 * transaction, then answers. Requests that arrive while a transaction is committing wait for the next
 * one and share it (group commit), so throughput is not bounded by one flush per event, and an idle
 * service adds no delay.
 */
export class Ingestor {
  private readonly queue: Pending[] = [];
  private readonly routes = new RouteCache();
  private running = 0;
  private stopped = false;
  private drainScheduled = false;
  private readonly drained = new Set<() => void>();

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      registry: Registry;
      dispatcher: Dispatcher;
      logger: Logger;
      metrics: Metrics;
      maxBatch: number;
    },
  ) {
    // The next commit carries outcomes when it will take a batch large enough (commit); until then the
    // dispatcher writes them itself.
    deps.dispatcher.carryOutcomesWith({ busy: () => this.carries(this.queue.length) });
  }

  private carries(batchSize: number): boolean {
    return batchSize >= Math.min(CARRY_MIN_BATCH, this.deps.maxBatch);
  }

  /** Stores the event (unless its idempotency key is known), routes it, and resolves once committed. */
  ingest(event: DirectedEvent): Promise<IngestOutcome> {
    if (this.stopped) return Promise.reject(appError('SCHED_SHUTTING_DOWN'));
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Starts commits after the I/O callbacks already due: PGlite runs a whole transaction without yielding
   * to I/O, so requests that arrived together would otherwise each get a commit of their own (batch size
   * 1, about 4x slower under a burst). One event-loop turn, no timer: an idle service adds no delay.
   */
  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Events waiting for the next commit. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Refuses new events and waits for the transactions under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.running > 0 || this.queue.length > 0) await new Promise<void>((r) => this.drained.add(r));
  }

  private drain(): void {
    while (this.running < COMMITS_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.deps.maxBatch);
      this.running++;
      void this.commitBatch(batch).finally(() => {
        this.running--;
        if (this.running === 0 && this.queue.length === 0) {
          for (const f of this.drained) f();
          this.drained.clear();
        }
        this.drain();
        if (this.running === 0) this.deps.dispatcher.carrierIdle();
      });
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    try {
      await this.commit(batch);
    } catch (err) {
      if (batch.length > 1) {
        // One bad event must not fail its neighbours: commit each on its own.
        for (const p of batch) await this.commitBatch([p]);
        return;
      }
      batch[0]?.reject(this.storageError(err));
    }
  }

  private storageError(err: unknown): unknown {
    if (err instanceof AppError) return err;
    const state = sqlState(err);
    if (
      state === SQLSTATE.untranslatableCharacter ||
      state === SQLSTATE.characterNotInRepertoire ||
      state === SQLSTATE.invalidTextRepresentation
    ) {
      return appError(
        'SCHED_UNSUPPORTED_PAYLOAD',
        'the payload holds a character PostgreSQL cannot store (\\u0000)',
      );
    }
    this.deps.logger.error({ err }, 'storing events failed');
    return appError('SCHED_DATABASE_UNAVAILABLE', 'the event could not be stored; retry later', undefined, {
      cause: err,
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    const { db, clock, dispatcher } = this.deps;
    const started = performance.now();
    let reserved = 0;
    let reservedTicks = 0;
    /** Earliest due time of the rows written without a claim (the poll picks them up). */
    let unclaimedDueAt: number | null = null;
    const claimToken = randomUUID();
    // Outcomes of earlier engine calls ride on the first write (it commits them stale or not).
    const outcomes = this.carries(batch.length) ? dispatcher.takeOutcomes() : [];
    let riding = outcomes;
    const claimed: ClaimedDispatch[] = [];
    const results: { p: Pending; outcome?: IngestOutcome; error?: unknown }[] = [];
    // The inbox write is a single statement; an explicit transaction is only needed when an ingress
    // adds writes of its own (onStored) that must commit or roll back with the event.
    const needsTx = batch.some((p) => p.event.onStored);
    const run = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => (needsTx ? db.tx(fn) : fn(db));
    const attempt = (cached: boolean) =>
      run(async (q) => {
        claimed.length = 0;
        results.length = 0;
        dispatcher.unreserve(reserved);
        dispatcher.unreserveTicks(reservedTicks);
        reserved = 0;
        reservedTicks = 0;
        unclaimedDueAt = null;
        const now = clock.now();
        const { routed, routedAt } = await this.route(q, batch, results, cached);
        // Ticks (events with a due time) are held from the room for ticks, whether written ahead or just
        // late: the producer bounds how many are under way, and a late tick is handed over at once
        // instead of waiting for the poll (the dispatcher puts one over a second late in its backlog lane).
        const timed = (r: Routed) => r.p.event.dueAt !== undefined;
        const later = (r: Routed) => timed(r) && r.p.event.dueAt! > now;
        reserved = dispatcher.reserve(routed.reduce((n, r) => n + (timed(r) ? 0 : r.matches.length), 0));
        reservedTicks = dispatcher.reserveTicks(
          routed.reduce((n, r) => n + (timed(r) ? r.matches.length : 0), 0),
        );
        const leaseUntil = ts(now + dispatcher.leaseMs);
        let claimBudget = reserved;
        let tickBudget = reservedTicks;
        const eventRows: NewEventRow[] = [];
        const dispatchRows: NewDispatchRow[] = [];
        const plans = routed.map((r) => {
          const ev = r.p.event;
          eventRows.push({
            id: r.eventId,
            kind: ev.kind,
            idempotencyKey: ev.idempotencyKey,
            indexKey: ev.indexKey,
            payload: ev.payload,
            meta: { ...(ev.meta ?? {}), routing: r.routing },
            receivedAt: ts(ev.receivedAt),
            matchedCount: r.matches.length,
          });
          const claims: ClaimedDispatch[] = [];
          const notBefore = later(r) ? ts(ev.dueAt!) : null;
          const isTimed = timed(r);
          const ids = r.matches.map((m) => {
            const id = uuidv7(now);
            const claim = isTimed ? tickBudget-- > 0 : claimBudget-- > 0;
            const t = m.trigger;
            const row: NewDispatchRow = {
              id,
              eventId: r.eventId,
              workflowId: t.workflowId,
              nodeId: t.nodeId,
              kind: t.kind,
              userId: t.userId,
              triggerData: m.triggerData,
              resumeMode: t.resumeMode,
              claimToken: claim ? claimToken : null,
              leaseUntil: claim ? leaseUntil : null,
              notBefore,
              now: ts(now),
            };
            dispatchRows.push(row);
            if (claim)
              claims.push(
                claimedAtInsert(row, claimToken, { ...ev.payload, ...m.triggerData }, lateTick(ev)),
              );
            return { id, workflowId: t.workflowId, nodeId: t.nodeId };
          });
          return { r, claims, ids };
        });
        const inserted = await writeInbox(q, eventRows, dispatchRows, routedAt, riding);
        riding = [];
        // Routed (or refused) by cached triggers whose version has moved on: nothing was written.
        if (inserted === 'stale') return 'stale';
        const duplicates = plans.filter((x) => !inserted.has(x.r.eventId));
        const existing = await findEventIdsByKeys(
          q,
          duplicates.map((x) => x.r.p.event.idempotencyKey),
        );
        for (const { r, claims, ids } of plans) {
          if (inserted.has(r.eventId)) {
            claimed.push(...claims);
            if (claims.length < ids.length) {
              const due = later(r) ? r.p.event.dueAt! : now;
              unclaimedDueAt = Math.min(unclaimedDueAt ?? due, due);
            }
            results.push({
              p: r.p,
              outcome: {
                eventId: r.eventId,
                duplicate: false,
                matched: ids.length,
                dispatches: ids,
                routing: r.routing,
              },
            });
            await r.p.event.onStored?.(q, r.eventId);
          } else {
            const eventId = existing.get(r.p.event.idempotencyKey) ?? r.eventId;
            results.push({
              p: r.p,
              outcome: { eventId, duplicate: true, matched: 0, dispatches: [], routing: [] },
            });
          }
        }
        return 'written';
      });
    try {
      for (let n = 1; (await attempt(n <= STALE_RETRIES)) === 'stale'; n++) this.routes.invalidate();
    } catch (err) {
      dispatcher.unreserve(reserved);
      dispatcher.unreserveTicks(reservedTicks);
      dispatcher.outcomesCarried(outcomes, false);
      throw err;
    }
    dispatcher.outcomesCarried(outcomes, true);
    const { metrics } = this.deps;
    metrics.ingestBatchSize.observe(batch.length);
    metrics.ingestCommitSeconds.observe((performance.now() - started) / 1000);
    dispatcher.accept(claimed, reserved, reservedTicks, unclaimedDueAt);
    for (const r of results) {
      if (r.outcome) {
        const kind = r.p.event.kind;
        if (r.outcome.duplicate) metrics.eventsDuplicate.inc({ kind });
        else {
          metrics.eventsReceived.inc({ kind });
          if (r.outcome.dispatches.length)
            metrics.dispatchesCreated.inc({ kind }, r.outcome.dispatches.length);
        }
        r.p.resolve(r.outcome);
      } else {
        const code = r.error instanceof AppError ? r.error.code : 'SCHED_INTERNAL';
        metrics.eventsRejected.inc({ kind: r.p.event.kind, code });
        r.p.reject(r.error);
      }
    }
  }

  /**
   * Triggers by index key: from the route cache, with the trigger_index version the inbox write must
   * still find; or, after the version moved under a batch several times running, straight from the table.
   */
  private async byIndexKey(
    q: Queryable,
    keys: IndexKeyLookup[],
    cached: boolean,
  ): Promise<{ candidates: Map<string, TriggerRow[]>; version: string | null }> {
    if (keys.length === 0) return { candidates: new Map(), version: null };
    if (cached) return this.routes.lookup(q, keys);
    return { candidates: await triggersByKey(q, keys), version: null };
  }

  /**
   * Phase one (index key lookup through the route cache, checked by the inbox write; trigger id lookup
   * from the table), so an undeploy that committed is seen at once, then each kind's admission check and
   * matcher.
   */
  private async route(
    q: Queryable,
    batch: Pending[],
    results: { p: Pending; outcome?: IngestOutcome; error?: unknown }[],
    cached: boolean,
  ): Promise<{ routed: Routed[]; routedAt: string | null }> {
    const { registry } = this.deps;
    const keyed = new Map<string, IndexKeyLookup>();
    const ids = new Set<string>();
    for (const p of batch) {
      if (p.event.triggerIds) for (const id of p.event.triggerIds) ids.add(id);
      else keyed.set(indexKeyOf(p.event), { kind: p.event.kind, indexKey: p.event.indexKey });
    }
    const [byKey, byId] = await Promise.all([
      this.byIndexKey(q, [...keyed.values()], cached),
      findByIds(q, [...ids]),
    ]);
    const candidatesByKey = byKey.candidates;
    const byIdMap = new Map(byId.map((t) => [t.id, t]));
    const seenKeys = new Set<string>();
    const routed: Routed[] = [];
    for (const p of batch) {
      const ev = p.event;
      const kind = registry.get(ev.kind);
      if (!kind) {
        results.push({ p, error: appError('SCHED_INTERNAL', `no trigger kind ${ev.kind}`) });
        continue;
      }
      const candidates = ev.triggerIds
        ? ev.triggerIds.flatMap((id) => {
            const t = byIdMap.get(id);
            return t && t.kind === ev.kind ? [t] : [];
          })
        : (candidatesByKey.get(indexKeyOf(ev)) ?? []);
      const refusal = kind.admit?.(ev, candidates);
      if (refusal) {
        results.push({ p, error: refusal });
        continue;
      }
      const routing: RoutingDecision[] = [];
      const matches: Routed['matches'] = [];
      // A second copy of a key in one batch is a duplicate of the first, not a second event.
      const duplicateInBatch = seenKeys.has(ev.idempotencyKey);
      seenKeys.add(ev.idempotencyKey);
      if (!duplicateInBatch) {
        for (const t of candidates) {
          if (!t.enabled || t.status !== 'active') {
            routing.push({
              workflow_id: t.workflowId,
              trigger_node_id: t.nodeId,
              matched: false,
              reason: 'trigger is paused',
            });
            continue;
          }
          let decision: ReturnType<typeof kind.match>;
          try {
            decision = kind.match(t.config, ev, t);
          } catch (err) {
            // Filters fail closed: an error in a matcher is a non-match with its reason recorded.
            decision = { matched: false, reason: `matcher error: ${(err as Error).message}` };
          }
          if (decision.matched) {
            routing.push({ workflow_id: t.workflowId, trigger_node_id: t.nodeId, matched: true });
            matches.push({ trigger: t, triggerData: decision.triggerData ?? {} });
          } else {
            routing.push({
              workflow_id: t.workflowId,
              trigger_node_id: t.nodeId,
              matched: false,
              reason: decision.reason,
            });
          }
        }
      }
      routed.push({ p, eventId: uuidv7(ev.receivedAt), routing, matches });
    }
    return { routed, routedAt: byKey.version };
  }
}
