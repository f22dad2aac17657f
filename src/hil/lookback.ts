import { type Queryable, ts } from '../db/db.js';
import { type ClaimedDispatch, claimedAtInsert, type NewDispatchRow } from '../db/dispatches.sql.js';
import { writeInbox } from '../db/inbox.sql.js';
import { uuidv7 } from '../ids.js';
import { type Match, matches } from './match.js';
import { claimWait, DERIVED_KEY_PREFIX, rememberedAnswers, takeAnswer } from './offers.sql.js';

// Remembered answers looked at per registration (oldest first).
const MAX_ANSWERS = 1_000;

export interface LookbackRequest {
  workflowId: string;
  waitId: string;
  executionId: string;
  kind: string;
  match: Match;
  askedAt: number | null;
  now: number;
  lookbackMs: number;
  /** Set when this process's dispatcher has room: the resume is claimed at insert and handed over. */
  claim: { token: string; leaseMs: number } | null;
}

/**
 * Runs inside the registration transaction (under the workflow's wait lock): finds the oldest answer
 * remembered within the window that satisfies the new wait. When there is one, the wait is taken and a
 * resume dispatch is written to the outbox with a copy of the answering event: an event row of its own,
 * so the outbox's UNIQUE(event, workflow, trigger) holds and the original dispatch (which ran the event
 * as a new execution) stays as it was. The dispatcher then delivers the resume with retries, back-off,
 * dead letters and replay like any dispatch, and the resolver finds the claim by the dispatch id.
 *
 * Returns undefined when no answer matched, else the resume dispatch (claimed or left pending).
 */
export async function resumeFromLookback(
  q: Queryable,
  r: LookbackRequest,
): Promise<{ dispatchId: string; claimed: ClaimedDispatch | null } | undefined> {
  const answers = await rememberedAnswers(q, {
    workflowId: r.workflowId,
    kind: r.kind,
    since: ts(r.now - r.lookbackMs),
    excludeExecutionId: r.executionId,
    limit: MAX_ANSWERS,
  });
  const a = answers.find(
    (x) =>
      (r.askedAt === null || x.receivedAt >= r.askedAt) &&
      matches(r.match, { ...x.payload, ...x.triggerData }),
  );
  if (!a) return undefined;
  const now = ts(r.now);
  const eventId = uuidv7(r.now);
  const dispatchId = uuidv7(r.now);
  const row: NewDispatchRow = {
    id: dispatchId,
    eventId,
    workflowId: r.workflowId,
    nodeId: a.nodeId,
    kind: r.kind,
    userId: a.userId,
    triggerData: a.triggerData,
    resumeMode: 'correlated',
    claimToken: r.claim?.token ?? null,
    leaseUntil: r.claim ? ts(r.now + r.claim.leaseMs) : null,
    notBefore: null,
    now,
  };
  const inserted = await writeInbox(
    q,
    [
      {
        id: eventId,
        kind: r.kind,
        idempotencyKey: `${DERIVED_KEY_PREFIX}${r.waitId}`,
        indexKey: a.indexKey,
        payload: a.payload,
        meta: {
          hil_lookback: { wait_id: r.waitId, source_event_id: a.eventId, source_dispatch_id: a.dispatchId },
          routing: [{ workflow_id: r.workflowId, trigger_node_id: a.nodeId, matched: true }],
        },
        receivedAt: now,
        matchedCount: 1,
      },
    ],
    [row],
  );
  // The derived key is unique per wait, and a wait is claimed once under the workflow lock.
  if (!inserted.has(eventId)) throw new Error(`lookback resume for wait ${r.waitId} was already written`);
  await claimWait(q, {
    waitId: r.waitId,
    dispatchId,
    eventId: a.eventId,
    source: 'lookback',
    sourceDispatchId: a.dispatchId,
    now,
  });
  await takeAnswer(q, a.dispatchId, r.waitId);
  if (!r.claim) return { dispatchId, claimed: null };
  return {
    dispatchId,
    claimed: claimedAtInsert(row, r.claim.token, { ...a.payload, ...a.triggerData }),
  };
}
