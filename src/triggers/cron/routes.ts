import type { FastifyInstance } from 'fastify';
import { AppError, appError } from '../../errors.js';
import { findVisibleTrigger, nodeParams } from '../../http/routes/triggers.js';
import { errorResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import type { CronConfig } from './config.js';
import { Firer } from './firing.js';
import { idempotencyKey } from './payload.js';
import { countFires, listFires } from './queries.js';
import { cronRuntimeOf } from './runtime.js';
import { toZonedIso } from './schedule.js';
import { claimFires, type FireOutcome, fireKey } from './store.js';
import { countersSchema, fireViewSchema } from './view.js';

const OUTCOMES: FireOutcome[] = ['claimed', 'fired', 'missed', 'skipped', 'dropped'];

async function cronTrigger(
  s: Services,
  params: { workflow_id: string; node_id: string },
  userId: string | null,
) {
  const { trigger } = await findVisibleTrigger(s, params.workflow_id, params.node_id, userId);
  if (trigger.kind !== 'CRON') {
    throw new AppError(
      'SCHED_NOT_A_CRON_TRIGGER',
      `node ${trigger.nodeId} is a ${trigger.kind} trigger; this applies to CRON triggers only`,
      { details: { node_id: trigger.nodeId } },
    );
  }
  return trigger as typeof trigger & { config: CronConfig };
}

/** Run now and the fire history ("why didn't it fire?"). */
export function registerCronRoutes(app: FastifyInstance, s: Services): void {
  app.post<{ Params: { workflow_id: string; node_id: string } }>(
    '/api/v1/triggers/workflows/:workflow_id/triggers/:node_id/run',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: 'Fire a CRON trigger now',
        description:
          'A fire with nominal time = now, through the same pipeline as scheduled fires (claim, event, ' +
          'dispatch); marked run_now in trigger_data and the fire history. The overlap policy does not apply. ' +
          '202 once the event is stored; the engine is called in the background.',
        params: nodeParams,
        response: {
          202: {
            type: 'object',
            properties: {
              workflow_id: { type: 'string' },
              node_id: { type: 'string' },
              nominal_time: { type: 'string' },
              scheduled_time: { type: 'string', description: 'The nominal time in the trigger zone' },
              idempotency_key: { type: 'string' },
              event_id: { type: ['string', 'null'] },
              dispatch_id: { type: ['string', 'null'] },
              outcome: { type: 'string' },
            },
          },
          ...errorResponses(400, 401, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const trigger = await cronTrigger(s, request.params, request.principal?.userId ?? null);
      if (!trigger.enabled || trigger.status !== 'active') {
        throw appError(
          'SCHED_TRIGGER_DISABLED',
          `cron trigger ${trigger.nodeId} is paused; resume it first`,
          {
            node_id: trigger.nodeId,
          },
        );
      }
      const now = s.clock.now();
      const c = trigger.config;
      const item = {
        workflowId: trigger.workflowId,
        nodeId: trigger.nodeId,
        triggerId: trigger.id,
        expression: c.cron_expression,
        timezone: c.timezone,
        nominal: now,
        effective: now,
        jitter: 0,
        next: null,
        nextEffective: null,
        source: 'run_now' as const,
        overlapSkip: false,
      };
      const key = fireKey(item.workflowId, item.nodeId, now);
      const won = await claimFires(s.db, [item], {
        now,
        by: s.instanceId,
        leaseUntil: now + s.config.cron.claimLeaseMs,
      });
      const firer = cronRuntimeOf(s)?.firer ?? new Firer(s);
      const outcome = won.has(key) ? (await firer.deliver([item])).get(key) : undefined;
      await firer.flushFinishes();
      const [fire] = await listFires(s.db, item.workflowId, item.nodeId, {
        limit: 1,
        before: new Date(now + 1).toISOString(),
      });
      return reply.code(202).send({
        workflow_id: item.workflowId,
        node_id: item.nodeId,
        nominal_time: new Date(now).toISOString(),
        scheduled_time: toZonedIso(now, c.timezone),
        idempotency_key: idempotencyKey(item),
        event_id: outcome?.eventId ?? fire?.event_id ?? null,
        dispatch_id: outcome?.dispatches[0]?.id ?? fire?.dispatch?.id ?? null,
        outcome: fire?.outcome ?? 'claimed',
      });
    },
  );

  app.get<{
    Params: { workflow_id: string; node_id: string };
    Querystring: { outcome?: FireOutcome; before?: string; limit?: number };
  }>(
    '/api/v1/triggers/workflows/:workflow_id/triggers/:node_id/fires',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: "A CRON trigger's fire history, newest first",
        description:
          'Every tick the scheduler handled: fired, missed (with the catch-up reason), skipped (overlap), ' +
          'dropped. Filter by outcome to answer "why didn\'t it fire?"; page with before=<nominal_time>.',
        params: nodeParams,
        querystring: {
          type: 'object',
          properties: {
            outcome: { type: 'string', enum: OUTCOMES },
            before: {
              type: 'string',
              format: 'date-time',
              description: 'Only ticks before this nominal time',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflow_id: { type: 'string' },
              node_id: { type: 'string' },
              counters: countersSchema,
              fires: { type: 'array', items: fireViewSchema },
            },
          },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const trigger = await cronTrigger(s, request.params, request.principal?.userId ?? null);
      const q = request.query;
      const [fires, counters] = await Promise.all([
        listFires(s.db, trigger.workflowId, trigger.nodeId, {
          limit: q.limit ?? 100,
          outcome: q.outcome,
          before: q.before,
        }),
        countFires(s.db, trigger.workflowId, trigger.nodeId),
      ]);
      return { workflow_id: trigger.workflowId, node_id: trigger.nodeId, counters, fires };
    },
  );
}
