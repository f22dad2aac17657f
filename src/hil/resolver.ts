import type { Clock } from '../clock.js';
import { type Db, type Queryable, ts } from '../db/db.js';
import type { ClaimedDispatch } from '../db/dispatches.sql.js';
import { EngineError } from '../engine/client.js';
import type { Logger } from '../logger.js';
import type { ResumeResolver, ResumeTarget } from '../pipeline/dispatcher.js';
import { matches } from './match.js';
import {
  type Answer,
  claimWait,
  dispatchContexts,
  lockWorkflowWaits,
  type OpenWait,
  openWaits,
  rememberAnswers,
} from './offers.sql.js';
import { markFailed, markSatisfied, resumeAgain } from './waits.sql.js';

/** Open waits one event is offered to at most (registration refuses more per workflow). */
export const MAX_OPEN_WAITS = 1_000;
const MAX_BATCH = 500;

type Decision =
  | { kind: 'resume'; waitId: string; executionId: string; interactionId: string; done: boolean }
  | { kind: 'execute' }
  | { kind: 'gone' };

interface Pending {
  d: ClaimedDispatch;
  resolve: (x: Decision) => void;
  reject: (e: unknown) => void;
}

/**
 * resume_mode 'correlated': the dispatch resumes the execution whose open wait it satisfies, or runs as
 * a new execution and is remembered for the lookback window. Never the "most recent" fallback.
 *
 * Decisions are taken in one transaction under the workflow's wait lock and written down before the
 * engine is called, so a retry of the dispatch finds its own decision again: its claim (it resumes the
 * same execution) or its lookback row (it runs as a new execution). Dispatches of one workflow queue in
 * this process and are decided together, one transaction per batch: the lock serialises them anyway, and
 * this way waiting for it never holds more than one pooled connection per workflow.
 */
export function createCorrelatedResolver(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  lookbackMs: number;
  count: (outcome: string) => void;
}): ResumeResolver {
  const { db, clock, logger } = deps;
  const queues = new Map<string, Pending[]>();

  function enqueue(d: ClaimedDispatch): Promise<Decision> {
    return new Promise((resolve, reject) => {
      const queue = queues.get(d.workflowId);
      if (queue) {
        queue.push({ d, resolve, reject });
        return;
      }
      queues.set(d.workflowId, [{ d, resolve, reject }]);
      void drain(d.workflowId);
    });
  }

  async function drain(workflowId: string): Promise<void> {
    for (;;) {
      const queue = queues.get(workflowId) ?? [];
      const batch = queue.splice(0, MAX_BATCH);
      if (batch.length === 0) {
        queues.delete(workflowId);
        return;
      }
      await decideBatch(workflowId, batch);
    }
  }

  async function decideBatch(workflowId: string, batch: Pending[]): Promise<void> {
    try {
      const decisions = await db.tx((q) =>
        decide(
          q,
          workflowId,
          batch.map((p) => p.d),
        ),
      );
      for (const [i, p] of batch.entries()) p.resolve(decisions[i]!);
    } catch (err) {
      // One dispatch must not fail its neighbours: decide each on its own (the dispatcher retries failures).
      if (batch.length > 1) for (const p of batch) await decideBatch(workflowId, [p]);
      else batch[0]?.reject(err);
    }
  }

  async function decide(q: Queryable, workflowId: string, ds: ClaimedDispatch[]): Promise<Decision[]> {
    await lockWorkflowWaits(q, workflowId);
    const now = ts(clock.now());
    const contexts = await dispatchContexts(
      q,
      ds.map((d) => ({ dispatchId: d.id, eventId: d.eventId })),
    );
    const waitsByKind = new Map<string, OpenWait[]>();
    const remembered: Answer[] = [];
    const out: Decision[] = [];
    for (const d of ds) {
      const ctx = contexts.get(d.id);
      if (!ctx) {
        out.push({ kind: 'execute' });
        continue;
      }
      if (ctx.claim) {
        // A retry (engine error), a replay of a dead dispatch, or a lookback delivery.
        if (ctx.claim.status === 'failed') await resumeAgain(q, ctx.claim.id, d.id, now);
        const { id, executionId, interactionId } = ctx.claim;
        out.push({
          kind: 'resume',
          waitId: id,
          executionId,
          interactionId,
          done: ctx.claim.status === 'satisfied',
        });
        continue;
      }
      // A lookback delivery whose wait vanished (workflow deleted): its event already ran once.
      if (ctx.derived) {
        out.push({ kind: 'gone' });
        continue;
      }
      if (ctx.offered) {
        out.push({ kind: 'execute' });
        continue;
      }
      let waits = waitsByKind.get(d.kind);
      if (!waits) {
        waits = await openWaits(q, workflowId, d.kind, now, MAX_OPEN_WAITS);
        waitsByKind.set(d.kind, waits);
      }
      const claimed = await claimFirst(q, waits, d, ctx.receivedAt, now);
      if (claimed) {
        const { id, executionId, interactionId } = claimed;
        out.push({ kind: 'resume', waitId: id, executionId, interactionId, done: false });
        continue;
      }
      if (deps.lookbackMs > 0) {
        remembered.push({
          dispatchId: d.id,
          eventId: d.eventId,
          workflowId,
          kind: d.kind,
          receivedAt: ts(ctx.receivedAt),
        });
      }
      out.push({ kind: 'execute' });
    }
    await rememberAnswers(q, remembered, now);
    return out;
  }

  /** Takes the oldest open wait the dispatch satisfies; a taken wait leaves the batch's list. */
  async function claimFirst(
    q: Queryable,
    waits: OpenWait[],
    d: ClaimedDispatch,
    receivedAt: number,
    now: string,
  ): Promise<OpenWait | undefined> {
    for (;;) {
      const i = waits.findIndex(
        (w) => (w.askedAt === null || receivedAt >= w.askedAt) && matches(w.match, d.triggerData),
      );
      const w = waits[i];
      if (!w) return undefined;
      waits.splice(i, 1);
      const c = { waitId: w.id, dispatchId: d.id, eventId: d.eventId, sourceDispatchId: null, now };
      // False only when it was cancelled or expired a moment ago: try the next one.
      if (await claimWait(q, { ...c, source: 'live' })) return w;
    }
  }

  return async (d) => {
    const decision = await enqueue(d);
    if (decision.kind === 'gone') {
      throw new EngineError('SCHED_HIL_WAIT_GONE', `the wait of lookback resume ${d.id} no longer exists`, {
        retryable: false,
      });
    }
    if (decision.kind === 'execute') {
      deps.count('unmatched');
      return null;
    }
    const { waitId, executionId, interactionId } = decision;
    const target: ResumeTarget = {
      executionId,
      interactionId,
      alreadyResumed: decision.done,
      onResumed: async () => {
        deps.count('satisfied');
        // Best effort: the sweeper repairs a lost write from the dispatch row.
        await markSatisfied(db, waitId, d.id, ts(clock.now())).catch((err) =>
          logger.warn({ err, wait_id: waitId }, 'could not mark the wait satisfied; the sweeper will'),
        );
      },
      notFound: {
        code: 'SCHED_HIL_RESUME_NOT_FOUND',
        onNotFound: async () => {
          deps.count('resume_not_found');
          await markFailed(db, {
            waitId,
            dispatchId: d.id,
            code: 'SCHED_HIL_RESUME_NOT_FOUND',
            message: `the engine answered 404 to resuming execution ${executionId}`,
            now: ts(clock.now()),
          }).catch((err) =>
            logger.warn({ err, wait_id: waitId }, 'could not mark the wait failed; the sweeper will'),
          );
        },
      },
    };
    return target;
  };
}
