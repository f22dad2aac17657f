import { ts } from '../db/db.js';
import { appError } from '../errors.js';
import type { Registry } from '../triggers/registry.js';
import { type Match, matchProblem } from './match.js';

export const MAX_WAIT_MS = 30 * 86_400_000;
// Clock skew allowed between the caller saying when it asked and our clock.
const ASKED_AT_SKEW_MS = 60_000;

/** The body of POST /api/v1/hil/waits (after its JSON schema). */
export interface RegisterWait {
  execution_id: string;
  workflow_id: string;
  interaction_id: string;
  kind: string;
  match: unknown;
  expires_at: string;
  asked_at?: string | undefined;
}

export interface ValidWait {
  kind: string;
  match: Match;
  expiresAt: number;
  askedAt: number | null;
}

/** Checks what the schema cannot: a kind that can resume, a usable match, sensible times. */
export function validateWait(input: RegisterWait, registry: Registry, now: number): ValidWait {
  const kind = input.kind.trim().toUpperCase();
  const k = registry.get(kind);
  if (!k) {
    throw appError(
      'SCHED_UNKNOWN_TRIGGER_SUBTYPE',
      `kind ${JSON.stringify(input.kind)} is not a trigger kind here (known: ${registry.ids().join(', ')})`,
      { field: 'kind' },
    );
  }
  if (!k.resumeModes.includes('correlated')) {
    throw appError(
      'SCHED_VALIDATION',
      `kind ${kind} cannot resume executions (its resume modes: ${k.resumeModes.join(', ')})`,
      { field: 'kind' },
    );
  }
  const problem = matchProblem(input.match);
  if (problem)
    throw appError('SCHED_VALIDATION', `${problem.field} ${problem.message}`, { field: problem.field });
  const expiresAt = Date.parse(input.expires_at);
  if (!Number.isFinite(expiresAt) || expiresAt <= now) {
    throw appError('SCHED_VALIDATION', `expires_at must be in the future (now is ${ts(now)})`, {
      field: 'expires_at',
    });
  }
  if (expiresAt > now + MAX_WAIT_MS) {
    throw appError('SCHED_VALIDATION', 'expires_at may be at most 30 days ahead', { field: 'expires_at' });
  }
  let askedAt: number | null = null;
  if (input.asked_at !== undefined) {
    askedAt = Date.parse(input.asked_at);
    if (!Number.isFinite(askedAt) || askedAt > now + ASKED_AT_SKEW_MS) {
      throw appError('SCHED_VALIDATION', 'asked_at must be a time not in the future', { field: 'asked_at' });
    }
  }
  return { kind, match: input.match as Match, expiresAt, askedAt };
}

/** A repeated registration is the same when workflow, kind and match agree (expires_at: the first wins). */
export function sameRegistration(
  w: { workflowId: string; kind: string; match: Match },
  workflowId: string,
  kind: string,
  match: Match,
): boolean {
  const canon = (m: Match) =>
    JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return w.workflowId === workflowId && w.kind === kind && canon(w.match) === canon(match);
}
