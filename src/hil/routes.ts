import type { FastifyInstance, FastifyRequest } from 'fastify';
import { appError } from '../errors.js';
import { errorResponses, lastErrorSchema } from '../http/schemas.js';
import type { Services } from '../services.js';
import { WORKFLOW_ID_PATTERN } from '../workflow/spec.js';
import { MATCH_LIMITS } from './match.js';
import { MAX_WAIT_MS, type RegisterWait } from './validate.js';
import { WAIT_STATUSES, type WaitRecord, type WaitStatus } from './waits.sql.js';

const nullableString = { type: ['string', 'null'] } as const;

const waitSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    execution_id: { type: 'string' },
    interaction_id: { type: 'string' },
    workflow_id: { type: 'string' },
    kind: { type: 'string' },
    match: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    status: {
      type: 'string',
      enum: [...WAIT_STATUSES],
      description:
        'open; resuming (an answer was taken, its dispatch delivers the resume); satisfied; expired; ' +
        'failed (the engine refused the resume, or its dispatch is dead: see last_error); cancelled',
    },
    expires_at: { type: 'string', format: 'date-time' },
    asked_at: nullableString,
    satisfied_by: {
      type: ['object', 'null'],
      description: 'The answer: the event, the dispatch delivering the resume, and how it was found',
      properties: {
        event_id: { type: 'string' },
        dispatch_id: { type: 'string' },
        source: { type: 'string', enum: ['live', 'lookback'] },
        source_dispatch_id: {
          ...nullableString,
          description: 'lookback: the dispatch that ran the answering event as a new execution',
        },
        matched_at: { type: 'string' },
        dispatch_status: nullableString,
        dispatch_attempts: { type: ['integer', 'null'] },
      },
    },
    last_error: lastErrorSchema,
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    closed_at: nullableString,
  },
} as const;

const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['execution_id', 'workflow_id', 'interaction_id', 'kind', 'match', 'expires_at'],
  properties: {
    execution_id: { type: 'string', minLength: 1, maxLength: 200, description: 'The paused execution' },
    workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN },
    interaction_id: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'Sent back with the resume; with execution_id the idempotency key of the registration',
    },
    kind: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Trigger kind of the answer (SLACK, WEBHOOK, …)',
    },
    match: {
      type: 'object',
      minProperties: 1,
      maxProperties: MATCH_LIMITS.entries,
      // Values are checked in code (string, number or boolean): schema type coercion would turn null into "".
      additionalProperties: true,
      description:
        'Dotted path into the event trigger_data -> expected string, number or boolean; all must match; a ' +
        'path through an array matches when any element does. E.g. {"channel_id":"C1","thread_ts":"1700000000.000100"}, ' +
        '{"actions.action_id":"approve_42"}, {"body.ticket":"T-9"}',
    },
    expires_at: {
      type: 'string',
      format: 'date-time',
      description: `In the future, at most ${MAX_WAIT_MS / 86_400_000} days ahead`,
    },
    asked_at: {
      type: 'string',
      format: 'date-time',
      description: 'When the question was put; events received earlier never satisfy the wait',
    },
  },
} as const;

export function waitView(w: WaitRecord, now: number) {
  // The stored status can lag by one sweep; show what is true now.
  let status: WaitStatus = w.status;
  if (status === 'open' && Date.parse(w.expiresAt) <= now) status = 'expired';
  if (status === 'resuming' && w.dispatch?.status === 'succeeded' && w.dispatch.resumed) status = 'satisfied';
  if (status === 'resuming' && w.dispatch?.status === 'dead') status = 'failed';
  const errorCode = w.lastErrorCode ?? (status === 'failed' ? w.dispatch?.lastErrorCode : null) ?? null;
  return {
    id: w.id,
    execution_id: w.executionId,
    interaction_id: w.interactionId,
    workflow_id: w.workflowId,
    kind: w.kind,
    match: w.match,
    status,
    expires_at: w.expiresAt,
    asked_at: w.askedAt,
    satisfied_by:
      w.dispatchId && w.eventId
        ? {
            event_id: w.eventId,
            dispatch_id: w.dispatchId,
            source: w.source ?? 'live',
            source_dispatch_id: w.sourceDispatchId,
            matched_at: w.matchedAt ?? '',
            dispatch_status: w.dispatch?.status ?? null,
            dispatch_attempts: w.dispatch?.attempts ?? null,
          }
        : null,
    last_error: errorCode
      ? {
          code: errorCode,
          message: w.lastError ?? w.dispatch?.lastError ?? '',
          http_status: w.dispatch?.lastHttpStatus ?? null,
        }
      : null,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    closed_at: w.closedAt,
  };
}

/** Registration and cancelling are for service callers (the engine via the gateway), not end users. */
function requireService(request: FastifyRequest): void {
  if (request.principal?.kind === 'user')
    throw appError('SCHED_FORBIDDEN', 'only service callers may register or cancel waits');
}

export function registerHilRoutes(app: FastifyInstance, s: Services): void {
  const pre = s.auth.preHandler;
  const idParam = {
    type: 'object',
    properties: { id: { type: 'string', format: 'uuid' } },
    required: ['id'],
  } as const;

  app.post<{ Body: RegisterWait }>(
    '/api/v1/hil/waits',
    {
      preHandler: pre,
      schema: {
        tags: ['hil'],
        summary: 'Register a wait of a paused execution for a correlated answer (service callers)',
        description:
          'Idempotent on (execution_id, interaction_id): 201 when created, 200 with the same wait when repeated, ' +
          '409 when repeated with a different workflow, kind or match. An unanswered event of the same workflow ' +
          'and kind received within HIL_LOOKBACK_SECONDS that matches satisfies the wait at once (status resuming).',
        body: registerBody,
        response: {
          200: {
            type: 'object',
            properties: {
              created: { type: 'boolean' },
              wait: waitSchema,
              warnings: { type: 'array', items: { type: 'string' } },
            },
          },
          201: {
            type: 'object',
            properties: {
              created: { type: 'boolean' },
              wait: waitSchema,
              warnings: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      requireService(request);
      const r = await s.hil.register(request.body, request.principal?.userId ?? null);
      return reply
        .code(r.created ? 201 : 200)
        .send({ created: r.created, wait: waitView(r.wait, s.clock.now()), warnings: r.warnings });
    },
  );

  app.get<{
    Querystring: { workflow_id?: string; execution_id?: string; status?: WaitStatus; limit?: number };
  }>(
    '/api/v1/hil/waits',
    {
      preHandler: pre,
      schema: {
        tags: ['hil'],
        summary: 'Waits, newest first: open, resuming, satisfied (by which event and dispatch), expired, …',
        description:
          'A user sees the waits of their own workflows; a service caller acting for no user sees all.',
        querystring: {
          type: 'object',
          properties: {
            workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN },
            execution_id: { type: 'string', maxLength: 200 },
            status: { type: 'string', enum: [...WAIT_STATUSES] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', properties: { waits: { type: 'array', items: waitSchema } } },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const waits = await s.hil.list({
        workflowId: request.query.workflow_id,
        executionId: request.query.execution_id,
        status: request.query.status,
        userId: request.principal?.userId ?? null,
        limit: request.query.limit ?? 100,
      });
      const now = s.clock.now();
      return { waits: waits.map((w) => waitView(w, now)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/hil/waits/:id',
    {
      preHandler: pre,
      schema: {
        tags: ['hil'],
        summary: 'One wait',
        params: idParam,
        response: { 200: waitSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) =>
      waitView(await s.hil.get(request.params.id, request.principal?.userId ?? null), s.clock.now()),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/hil/waits/:id',
    {
      preHandler: pre,
      schema: {
        tags: ['hil'],
        summary: 'Cancel an open wait (its execution stopped waiting); service callers',
        params: idParam,
        response: { 200: waitSchema, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      requireService(request);
      return waitView(
        await s.hil.cancel(request.params.id, request.principal?.userId ?? null),
        s.clock.now(),
      );
    },
  );
}
