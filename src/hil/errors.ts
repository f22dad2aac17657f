import type { ErrorSpec } from '../errors.js';

/** Codes of the human-in-the-loop module (docs/errors.md, "Human in the loop"). */
export const HIL_ERRORS = {
  SCHED_HIL_WAIT_NOT_FOUND: { status: 404, message: 'Wait not found' },
  SCHED_HIL_WAIT_CONFLICT: {
    status: 409,
    message: 'This execution_id and interaction_id are registered with a different workflow, kind or match',
  },
  SCHED_HIL_WAIT_CLOSED: { status: 409, message: 'The wait is no longer open' },
  SCHED_HIL_TOO_MANY_WAITS: { status: 409, message: 'The workflow has too many open waits' },
  // Dispatch outcomes (last_error.code of a dispatch in resume_mode correlated).
  SCHED_HIL_RESUME_NOT_FOUND: {
    status: 404,
    message: 'The engine answered 404 to a correlated resume; no new execution was started',
  },
  SCHED_HIL_WAIT_GONE: { status: 404, message: 'The wait a lookback resume was meant for no longer exists' },
} as const satisfies Record<string, ErrorSpec>;

export type HilErrorCode = keyof typeof HIL_ERRORS;
