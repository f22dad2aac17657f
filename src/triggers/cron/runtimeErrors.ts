import type { ErrorSpec } from '../../errors.js';

/** Codes of the scheduler runtime's routes (documented in docs/errors.md, section CRON scheduler). */
export const CRON_RUNTIME_ERRORS = {
  SCHED_NOT_A_CRON_TRIGGER: { status: 400, message: 'The trigger is not a CRON trigger' },
} as const satisfies Record<string, ErrorSpec>;
