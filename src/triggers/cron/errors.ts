import type { ErrorSpec } from '../../errors.js';

/** Codes of the CRON kind's configuration and preview (documented in docs/errors.md, section CRON). */
export const CRON_ERRORS = {
  SCHED_INVALID_CRON: { status: 400, message: 'The cron expression is invalid' },
  SCHED_CRON_NEVER_FIRES: { status: 400, message: 'The cron expression matches no date' },
  SCHED_INVALID_TIMEZONE: { status: 400, message: 'The time zone is not an IANA time zone' },
  SCHED_INVALID_DST_POLICY: { status: 400, message: 'The DST policy is invalid' },
  SCHED_INVALID_CRON_OPTION: { status: 400, message: 'A cron trigger option is invalid or out of range' },
} as const satisfies Record<string, ErrorSpec>;

export type CronErrorCode = keyof typeof CRON_ERRORS;

/** Thrown for an unusable expression or zone; config.ts and the preview route turn it into their errors. */
export class ScheduleError extends Error {
  readonly code:
    | 'SCHED_INVALID_CRON'
    | 'SCHED_CRON_NEVER_FIRES'
    | 'SCHED_INVALID_TIMEZONE'
    | 'SCHED_INVALID_DST_POLICY';
  readonly field: 'expression' | 'timezone' | 'dst_policy';
  constructor(code: ScheduleError['code'], field: ScheduleError['field'], message: string) {
    super(message);
    this.name = 'ScheduleError';
    this.code = code;
    this.field = field;
  }
}
