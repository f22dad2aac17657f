import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import { Alarm, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, ts } from '../db/db.js';
import type { ClaimedDispatch } from '../db/dispatches.sql.js';
import { listTriggersOfWorkflow } from '../db/triggers.sql.js';
import { getWorkflow } from '../db/workflows.sql.js';
import { AppError, appError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Dispatcher, ResumeResolver } from '../pipeline/dispatcher.js';
import type { Registry } from '../triggers/registry.js';
import { resumeFromLookback } from './lookback.js';
import { lockWorkflowWaits } from './offers.sql.js';
import { createCorrelatedResolver, MAX_OPEN_WAITS } from './resolver.js';
import { type RegisterWait, sameRegistration, validateWait } from './validate.js';
import {
  cancelWait,
  countOpenWaits,
  getWait,
  getWaitByKey,
  insertWait,
  listWaits,
  sweep,
  type WaitRecord,
  type WaitStatus,
} from './waits.sql.js';

/**
 * How often waits are expired and resumed waits closed while any are open. Matching never relies on it
 * (offers check expires_at); only the status shown lags by up to this much.
 */
const SWEEP_INTERVAL_MS = 5_000;
/**
 * The sweep's interval while no wait is open anywhere: this process hurries it on any activity of its own;
 * this bounds how late it sees another replica's waits (whose own sweeper normally closes them).
 */
const IDLE_SWEEP_INTERVAL_MS = 60_000;

/**
 * Human-in-the-loop waits, correlated, for every trigger kind (docs/hil.md): registration with its
 * lookback, the dispatcher's resolver for resume_mode 'correlated', and the expiry sweeper.
 */
export class Hil {
  /** The dispatcher's resolver for resume_mode 'correlated'. */
  readonly resolver: ResumeResolver;
  private readonly sweepAlarm: Alarm;
  private running = false;
  private sweeping: Promise<void> | null = null;
  /** Activity during a sweep under way: the next one comes at the busy interval. */
  private hurried = false;
  private readonly counter: Counter<string>;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      registry: Registry;
      dispatcher: Dispatcher;
      logger: Logger;
      metrics: Metrics;
      config: Config['hil'];
    },
  ) {
    this.counter = deps.metrics.counter(
      'scheduler_hil_waits_total',
      'Human-in-the-loop waits and offers by outcome (registered, lookback, satisfied, unmatched, expired, …)',
      ['outcome'],
    );
    this.sweepAlarm = new Alarm(deps.clock, () => void this.tick());
    this.resolver = createCorrelatedResolver({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      lookbackMs: this.lookbackMs,
      count: (outcome) => {
        this.counter.inc({ outcome });
        this.hurry();
      },
    });
  }

  get lookbackMs(): number {
    return this.deps.config.lookbackSeconds * 1000;
  }

  /** Registers a wait (idempotent on execution_id + interaction_id) and looks back for its answer. */
  async register(
    input: RegisterWait,
    scopeUserId: string | null,
  ): Promise<{ wait: WaitRecord; created: boolean; warnings: string[] }> {
    const { db, clock, dispatcher, registry } = this.deps;
    const now = clock.now();
    const { kind, match, expiresAt, askedAt } = validateWait(input, registry, now);
    const wf = await getWorkflow(db, input.workflow_id);
    if (!wf || (scopeUserId !== null && wf.userId !== scopeUserId))
      throw appError('SCHED_WORKFLOW_NOT_FOUND', `workflow ${input.workflow_id} not found`);

    const waitId = randomUUID();
    // Room to hand a lookback resume straight to this process's dispatcher, as the ingestor does.
    const reserved = dispatcher.reserve(1);
    const claim = reserved > 0 ? { token: randomUUID(), leaseMs: dispatcher.leaseMs } : null;
    let resume: { dispatchId: string; claimed: ClaimedDispatch | null } | undefined;
    let existing: WaitRecord | undefined;
    let created: WaitRecord | undefined;
    try {
      await db.tx(async (q) => {
        resume = undefined;
        await lockWorkflowWaits(q, wf.id);
        existing = await getWaitByKey(q, input.execution_id, input.interaction_id);
        if (existing) return;
        if ((await countOpenWaits(q, wf.id)) >= MAX_OPEN_WAITS) {
          throw new AppError(
            'SCHED_HIL_TOO_MANY_WAITS',
            `workflow ${wf.id} already has ${MAX_OPEN_WAITS} open waits; cancel some or let them expire`,
          );
        }
        const inserted = await insertWait(q, {
          id: waitId,
          executionId: input.execution_id,
          interactionId: input.interaction_id,
          workflowId: wf.id,
          userId: wf.userId,
          kind,
          match,
          expiresAt: ts(expiresAt),
          askedAt: askedAt === null ? null : ts(askedAt),
          now: ts(now),
        });
        if (!inserted) {
          // Registered at the same moment under another workflow's lock.
          existing = await getWaitByKey(q, input.execution_id, input.interaction_id);
          return;
        }
        if (this.lookbackMs > 0) {
          resume = await resumeFromLookback(q, {
            workflowId: wf.id,
            waitId,
            executionId: input.execution_id,
            kind,
            match,
            askedAt,
            now,
            lookbackMs: this.lookbackMs,
            claim,
          });
        }
        // Read here: once the resume is handed over below, the wait may change at any moment.
        created = await getWait(q, waitId);
      });
    } catch (err) {
      dispatcher.unreserve(reserved);
      throw err;
    }
    const written = resume as { dispatchId: string; claimed: ClaimedDispatch | null } | undefined;
    if (written?.claimed) dispatcher.accept([written.claimed], reserved);
    else dispatcher.unreserve(reserved);
    // A resume written unclaimed (no room here) is picked up by the next poll; make that now.
    if (written && !written.claimed) dispatcher.kick();

    if (existing) {
      if (!sameRegistration(existing, wf.id, kind, match)) {
        throw new AppError(
          'SCHED_HIL_WAIT_CONFLICT',
          `execution ${input.execution_id} already waits for interaction ${input.interaction_id} with a different workflow, kind or match`,
          { details: { wait_id: existing.id } },
        );
      }
      return { wait: existing, created: false, warnings: [] };
    }
    this.counter.inc({ outcome: 'registered' });
    this.hurry();
    if (written) this.counter.inc({ outcome: 'lookback' });
    const wait = created as WaitRecord | undefined;
    if (!wait) throw appError('SCHED_INTERNAL', `wait ${waitId} vanished during registration`);
    return { wait, created: true, warnings: await this.warnings(wf.id, kind) };
  }

  /** Says so when no deployed trigger of the workflow could ever satisfy the wait. */
  private async warnings(workflowId: string, kind: string): Promise<string[]> {
    const triggers = await listTriggersOfWorkflow(this.deps.db, workflowId);
    if (triggers.some((t) => t.kind === kind && t.resumeMode === 'correlated')) return [];
    return [
      `workflow ${workflowId} has no deployed ${kind} trigger with resume_mode "correlated"; ` +
        'the wait is satisfied only once one is deployed',
    ];
  }

  async get(id: string, scopeUserId: string | null): Promise<WaitRecord> {
    const w = await getWait(this.deps.db, id);
    if (!w || (scopeUserId !== null && w.userId !== scopeUserId))
      throw new AppError('SCHED_HIL_WAIT_NOT_FOUND', `wait ${id} not found`);
    return w;
  }

  list(f: {
    workflowId?: string | undefined;
    executionId?: string | undefined;
    status?: WaitStatus | undefined;
    userId: string | null;
    limit: number;
  }): Promise<WaitRecord[]> {
    return listWaits(this.deps.db, { ...f, userId: f.userId ?? undefined });
  }

  async cancel(id: string, scopeUserId: string | null): Promise<WaitRecord> {
    const w = await this.get(id, scopeUserId);
    if (!(await cancelWait(this.deps.db, w.id, ts(this.deps.clock.now())))) {
      throw new AppError('SCHED_HIL_WAIT_CLOSED', `wait ${id} is ${w.status}, not open`);
    }
    this.counter.inc({ outcome: 'cancelled' });
    return this.get(id, scopeUserId);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.sweepAlarm.set(0);
  }

  /** Stops the sweeper and waits for a pass under way. */
  async stop(): Promise<void> {
    this.running = false;
    this.sweepAlarm.cancel();
    await this.sweeping;
  }

  /** One housekeeping pass (the sweeper's; tests call it after moving the clock). */
  async sweep(): Promise<{ expired: number; satisfied: number; failed: number; pending: boolean }> {
    const now = this.deps.clock.now();
    const r = await sweep(this.deps.db, ts(now), ts(now - this.lookbackMs));
    if (r.expired) this.counter.inc({ outcome: 'expired' }, r.expired);
    return r;
  }

  /** Local activity (a wait registered, an offer made): the next sweep comes at the busy interval. */
  private hurry(): void {
    if (this.sweeping) this.hurried = true;
    else if (this.running) this.sweepAlarm.within(SWEEP_INTERVAL_MS);
  }

  private async tick(): Promise<void> {
    let pending = true;
    this.hurried = false;
    this.sweeping = this.sweep().then(
      (r) => {
        pending = r.pending;
      },
      (err) => this.deps.logger.warn({ err }, 'human-in-the-loop sweep failed; will retry'),
    );
    await this.sweeping;
    this.sweeping = null;
    if (this.running)
      this.sweepAlarm.set(pending || this.hurried ? SWEEP_INTERVAL_MS : IDLE_SWEEP_INTERVAL_MS);
  }
}
