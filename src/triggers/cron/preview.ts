import type { FastifyInstance } from 'fastify';
import { AppError, appError, registerErrors } from '../../errors.js';
import { errorResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { ConfigFieldError } from '../types.js';
import { parseDstPolicy } from './config.js';
import { describeCron, dstNotes, type FireLabel } from './describe.js';
import { CRON_ERRORS } from './errors.js';
import {
  compileSchedule,
  type DstPolicy,
  formatOffset,
  ScheduleError,
  toZonedIso,
  zoneOffsetMs,
} from './schedule.js';

// The kind registers these too (same objects); registering here keeps the route usable on its own.
registerErrors(CRON_ERRORS);

interface PreviewQuery {
  expression?: string;
  timezone?: string;
  count?: number;
  from?: string;
  dst_policy?: string;
  dst_gap?: string;
  dst_overlap?: string;
}

const str = (description: string, maxLength = 64) => ({ type: 'string', maxLength, description }) as const;

const querySchema = {
  type: 'object',
  properties: {
    expression: str(
      'Cron expression: 5 fields, 6 with leading seconds, or a macro such as @daily (required)',
      256,
    ),
    timezone: str('IANA time zone; default SCHEDULER_TIMEZONE'),
    count: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'How many fire times' },
    from: str(
      'Instant after which to list fires: ISO 8601 with Z or an offset, or epoch milliseconds; default now',
      40,
    ),
    dst_policy: str('"cronie" (default: gap shift, overlap first) or "temporal" (gap skip, overlap both)'),
    dst_gap: str('"shift" or "skip": overrides the gap part of dst_policy'),
    dst_overlap: str('"first" or "both": overrides the overlap part of dst_policy'),
  },
  additionalProperties: false,
} as const;

const instant = {
  type: 'object',
  properties: {
    utc: { type: 'string', description: 'ISO 8601 in UTC' },
    local: { type: 'string', description: 'ISO 8601 local time with its offset' },
    offset: { type: 'string', description: 'UTC offset, e.g. -04:00' },
    dst: {
      type: 'string',
      enum: ['shifted', 'first_occurrence', 'second_occurrence'],
      description: 'Set when DST affects this fire: moved out of a gap, or one occurrence of a repeated time',
    },
  },
  required: ['utc', 'local', 'offset'],
} as const;

const noteSchema = {
  type: 'object',
  properties: {
    at: { type: 'string', description: 'The instant the offset changes (UTC)' },
    kind: { type: 'string', enum: ['gap', 'overlap'] },
    offset_before: { type: 'string' },
    offset_after: { type: 'string' },
    local_from: { type: 'string', description: 'Start of the skipped or repeated local times' },
    local_to: { type: 'string', description: 'End (exclusive) of the skipped or repeated local times' },
    local_times: {
      type: 'array',
      items: { type: 'string' },
      description: 'Schedule times in that range (≤ 10)',
    },
    local_time_count: { type: 'integer' },
    effect: { type: 'string', enum: ['none', 'shifted', 'skipped', 'fired_once', 'fired_twice'] },
    fires: { type: 'array', items: instant },
    message: { type: 'string' },
  },
  required: ['at', 'kind', 'effect', 'message'],
} as const;

const responseSchema = {
  type: 'object',
  properties: {
    expression: { type: 'string' },
    timezone: { type: 'string' },
    description: { type: 'string', description: 'The expression in words' },
    schedule_type: {
      type: 'string',
      enum: ['fixed_time', 'interval'],
      description: 'fixed_time: the DST policy applies; interval: runs on elapsed time across DST changes',
    },
    dst_policy: {
      type: 'object',
      properties: { gap: { type: 'string' }, overlap: { type: 'string' } },
      required: ['gap', 'overlap'],
    },
    from: { type: 'string' },
    fires: { type: 'array', items: instant },
    dst_notes: {
      type: 'array',
      items: noteSchema,
      description: 'Offset changes between from and the last fire',
    },
  },
  required: [
    'expression',
    'timezone',
    'description',
    'schedule_type',
    'dst_policy',
    'from',
    'fires',
    'dst_notes',
  ],
} as const;

/** GET /api/v1/cron/preview: what a schedule will do, with the errors a deploy would give. */
export function registerCronPreviewRoute(app: FastifyInstance, s: Services): void {
  app.get<{ Querystring: PreviewQuery }>(
    '/api/v1/cron/preview',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: 'Preview a cron schedule',
        description:
          'The next fire times (UTC and local), the expression in words, and what happens at each DST change ' +
          'up to the last fire listed. Invalid parameters answer 400 with the code a deploy would give ' +
          '(SCHED_INVALID_CRON, SCHED_CRON_NEVER_FIRES, SCHED_INVALID_TIMEZONE, SCHED_INVALID_DST_POLICY) and ' +
          'details.field naming the parameter.',
        querystring: querySchema,
        response: { 200: responseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const expression = q.expression ?? '';
      if (expression.trim() === '')
        throw new AppError('SCHED_INVALID_CRON', 'expression: is required, e.g. 0 9 * * 1-5', {
          details: { field: 'expression' },
        });
      const fromMs = parseFrom(q.from, s.clock.now());
      const dst = previewPolicy(q);
      const timezone = q.timezone?.trim() || s.config.timezone;
      let schedule: ReturnType<typeof compileSchedule>;
      let description: string;
      try {
        schedule = compileSchedule(expression, timezone, dst);
        description = describeCron(expression);
      } catch (err) {
        if (err instanceof ScheduleError)
          throw new AppError(err.code, `${err.field}: ${err.message}`, { details: { field: err.field } });
        throw err;
      }
      const tz = schedule.timezone;
      const fires = schedule.between(fromMs, Number.POSITIVE_INFINITY, q.count ?? 10);
      const last = fires[fires.length - 1];
      const notes = last === undefined ? [] : dstNotes(schedule, fromMs, last);
      const labels = new Map<number, FireLabel>();
      for (const n of notes) for (const f of n.fires) labels.set(f.atMs, f.label);
      const show = (ms: number, label?: FireLabel) => ({
        utc: new Date(ms).toISOString(),
        local: toZonedIso(ms, tz),
        offset: formatOffset(zoneOffsetMs(tz, ms)),
        ...(label ? { dst: label } : {}),
      });
      return {
        expression: schedule.expression,
        timezone: tz,
        description,
        schedule_type: schedule.fixedTime ? 'fixed_time' : 'interval',
        dst_policy: { gap: schedule.dst.gap, overlap: schedule.dst.overlap },
        from: new Date(fromMs).toISOString(),
        fires: fires.map((f) => show(f, labels.get(f))),
        dst_notes: notes.map((n) => ({
          at: new Date(n.atMs).toISOString(),
          kind: n.kind,
          offset_before: formatOffset(n.offsetBeforeMs),
          offset_after: formatOffset(n.offsetAfterMs),
          local_from: n.localFrom,
          local_to: n.localTo,
          local_times: n.localTimes,
          local_time_count: n.localTimeCount,
          effect: n.effect,
          fires: n.fires.map((f) => show(f.atMs, f.label)),
          message: n.message,
        })),
      };
    },
  );
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(2999, 0, 1);
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function parseFrom(raw: string | undefined, now: number): number {
  if (raw === undefined || raw.trim() === '') return now;
  const v = raw.trim();
  // An instant must say its offset: a bare local time would be read in the host's zone.
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : ISO_INSTANT.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms) || ms < EARLIEST || ms > LATEST)
    throw appError(
      'SCHED_VALIDATION',
      `from: ${JSON.stringify(raw)} is not an instant between 1970 and 2999 (ISO 8601 with Z or an offset, or epoch ms)`,
      { field: 'from' },
    );
  return ms;
}

function previewPolicy(q: PreviewQuery): DstPolicy {
  try {
    const base = parseDstPolicy(q.dst_policy);
    const gap = q.dst_gap ?? base.gap;
    const overlap = q.dst_overlap ?? base.overlap;
    if (gap !== 'shift' && gap !== 'skip')
      throw new ConfigFieldError('dst_gap', 'must be "shift" or "skip"', 'SCHED_INVALID_DST_POLICY');
    if (overlap !== 'first' && overlap !== 'both')
      throw new ConfigFieldError('dst_overlap', 'must be "first" or "both"', 'SCHED_INVALID_DST_POLICY');
    return parseDstPolicy({ gap, overlap });
  } catch (err) {
    if (err instanceof ConfigFieldError)
      throw new AppError(err.code ?? 'SCHED_INVALID_DST_POLICY', `${err.field}: ${err.message}`, {
        details: { field: err.field },
      });
    throw err;
  }
}
