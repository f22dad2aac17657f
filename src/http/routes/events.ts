import type { FastifyInstance } from 'fastify';
import { ts } from '../../db/db.js';
import {
  DISPATCH_STATUSES,
  type DispatchRecord,
  type DispatchStatus,
  getDispatch,
  listDispatches,
  replayDead,
} from '../../db/dispatches.sql.js';
import { type EventRecord, getEvent, listEvents } from '../../db/events.sql.js';
import { appError } from '../../errors.js';
import type { Services } from '../../services.js';
import { WORKFLOW_ID_PATTERN } from '../../workflow/spec.js';
import { errorResponses, lastErrorSchema, looseObject } from '../schemas.js';

const uuidParam = {
  type: 'object',
  properties: { id: { type: 'string', format: 'uuid' } },
  required: ['id'],
} as const;

const dispatchSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    event_id: { type: 'string' },
    workflow_id: { type: 'string' },
    trigger_node_id: { type: 'string' },
    kind: { type: 'string' },
    status: { type: 'string', enum: [...DISPATCH_STATUSES] },
    attempts: { type: 'integer' },
    next_attempt_at: { type: ['string', 'null'] },
    execution_id: { type: ['string', 'null'] },
    resumed: { type: 'boolean' },
    resume_mode: { type: 'string' },
    resume_outcome: { type: ['string', 'null'] },
    last_error: lastErrorSchema,
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    completed_at: { type: ['string', 'null'] },
  },
} as const;

const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    idempotency_key: { type: 'string' },
    index_key: { type: ['string', 'null'] },
    received_at: { type: 'string' },
    matched_count: { type: 'integer' },
    payload: looseObject,
    meta: looseObject,
    dispatches: { type: 'array', items: dispatchSchema },
  },
} as const;

export function dispatchView(d: DispatchRecord) {
  return {
    id: d.id,
    event_id: d.eventId,
    workflow_id: d.workflowId,
    trigger_node_id: d.nodeId,
    kind: d.kind,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    execution_id: d.executionId,
    resumed: d.resumed,
    resume_mode: d.resumeMode,
    resume_outcome: d.resumeOutcome,
    last_error: d.lastErrorCode
      ? { code: d.lastErrorCode, message: d.lastError ?? '', http_status: d.lastHttpStatus }
      : null,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    completed_at: d.completedAt,
  };
}

function eventView(e: EventRecord, dispatches: DispatchRecord[], userId: string | null) {
  // A user sees the routing decisions about their own workflows only.
  const routing = Array.isArray(e.meta.routing)
    ? (e.meta.routing as { workflow_id?: string }[]).filter(
        (r) => userId === null || dispatches.some((d) => d.workflowId === r.workflow_id),
      )
    : undefined;
  return {
    id: e.id,
    kind: e.kind,
    idempotency_key: e.idempotencyKey,
    index_key: e.indexKey,
    received_at: e.receivedAt,
    matched_count: e.matchedCount,
    payload: e.payload,
    meta: { ...e.meta, ...(routing ? { routing } : {}) },
    dispatches: dispatches.map(dispatchView),
  };
}

export function registerEventRoutes(app: FastifyInstance, s: Services): void {
  const pre = s.auth.preHandler;

  app.get<{ Querystring: { workflow_id?: string; kind?: string; before?: string; limit?: number } }>(
    '/api/v1/events',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: 'Events, newest first, with their dispatches',
        description:
          'A user sees only events routed to their workflows. Page with `before` = the last received_at.',
        querystring: {
          type: 'object',
          properties: {
            workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN },
            kind: { type: 'string' },
            before: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: {
          200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => {
      const userId = request.principal?.userId ?? null;
      const events = await listEvents(s.db, {
        workflowId: request.query.workflow_id,
        userId: userId ?? undefined,
        kind: request.query.kind,
        before: request.query.before,
        limit: request.query.limit ?? 50,
      });
      const dispatches = await listDispatches(s.db, {
        eventIds: events.map((e) => e.id),
        userId: userId ?? undefined,
        workflowId: request.query.workflow_id,
        limit: 10_000,
      });
      return {
        events: events.map((e) =>
          eventView(
            e,
            dispatches.filter((d) => d.eventId === e.id),
            userId,
          ),
        ),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/events/:id',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: 'One event with its dispatches and routing decisions',
        params: uuidParam,
        response: { 200: eventSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const userId = request.principal?.userId ?? null;
      const e = await getEvent(s.db, request.params.id);
      const dispatches = e
        ? await listDispatches(s.db, { eventIds: [e.id], userId: userId ?? undefined, limit: 10_000 })
        : [];
      if (!e || (userId !== null && dispatches.length === 0))
        throw appError('SCHED_EVENT_NOT_FOUND', `event ${request.params.id} not found`);
      return eventView(e, dispatches, userId);
    },
  );

  app.get<{ Querystring: { status?: DispatchStatus; workflow_id?: string; limit?: number } }>(
    '/api/v1/dispatches',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: 'Dispatches (the outbox), newest first; status=dead lists the dead letters',
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: [...DISPATCH_STATUSES] },
            workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: { type: 'object', properties: { dispatches: { type: 'array', items: dispatchSchema } } },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => ({
      dispatches: (
        await listDispatches(s.db, {
          status: request.query.status,
          workflowId: request.query.workflow_id,
          userId: request.principal?.userId ?? undefined,
          limit: request.query.limit ?? 100,
        })
      ).map(dispatchView),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/dispatches/:id',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: 'One dispatch',
        params: uuidParam,
        response: { 200: dispatchSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) =>
      dispatchView(await visibleDispatch(s, request.params.id, request.principal?.userId ?? null)),
  );

  const replayed = {
    type: 'object',
    properties: { replayed: { type: 'integer' }, dispatch_ids: { type: 'array', items: { type: 'string' } } },
  } as const;

  app.post<{ Params: { id: string } }>(
    '/api/v1/dispatches/:id/replay',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: 'Replay a dead dispatch (fresh attempt budget, same idempotency key)',
        params: uuidParam,
        response: { 200: replayed, ...errorResponses(401, 404, 409) },
      },
    },
    async (request) => {
      const d = await visibleDispatch(s, request.params.id, request.principal?.userId ?? null);
      if (d.status !== 'dead')
        throw appError('SCHED_DISPATCH_NOT_DEAD', `dispatch ${d.id} is ${d.status}, not dead`);
      const ids = await replayDead(s.db, { ids: [d.id], now: ts(s.clock.now()) });
      s.dispatcher.kick();
      return { replayed: ids.length, dispatch_ids: ids };
    },
  );

  app.post<{ Body: { workflow_id?: string; dispatch_ids?: string[] } | null }>(
    '/api/v1/dispatches/replay',
    {
      preHandler: pre,
      schema: {
        tags: ['events'],
        summary: "Replay dead dispatches in bulk (the caller's, optionally of one workflow or by id)",
        body: {
          type: ['object', 'null'],
          properties: {
            workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN },
            dispatch_ids: { type: 'array', items: { type: 'string', format: 'uuid' }, maxItems: 10_000 },
          },
          additionalProperties: false,
        },
        response: { 200: replayed, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const ids = await replayDead(s.db, {
        ids: request.body?.dispatch_ids,
        workflowId: request.body?.workflow_id,
        userId: request.principal?.userId ?? undefined,
        now: ts(s.clock.now()),
      });
      s.dispatcher.kick();
      return { replayed: ids.length, dispatch_ids: ids };
    },
  );
}

async function visibleDispatch(s: Services, id: string, userId: string | null): Promise<DispatchRecord> {
  const d = await getDispatch(s.db, id);
  if (!d || (userId !== null && d.userId !== userId))
    throw appError('SCHED_DISPATCH_NOT_FOUND', `dispatch ${id} not found`);
  return d;
}
