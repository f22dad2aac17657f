import type { FastifyInstance } from 'fastify';
import { ts } from '../../db/db.js';
import { insertPauseEntry, lastPauseEntry } from '../../db/pauses.sql.js';
import { listTriggersOfWorkflow, setTriggerEnabled } from '../../db/triggers.sql.js';
import type { WorkflowRecord } from '../../db/workflows.sql.js';
import { TRIGGER_CHANGES_CHANNEL } from '../../deploy/deployer.js';
import { appError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { TriggerRow } from '../../triggers/types.js';
import { WORKFLOW_ID_PATTERN } from '../../workflow/spec.js';
import { errorResponses, looseObject, workflowIdParam } from '../schemas.js';
import { triggerSchema, triggerStatusByKind, triggerView, visibleWorkflow } from './deployment.js';

export const nodeParams = {
  type: 'object',
  properties: {
    workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN, description: 'Workflow id' },
    node_id: { type: 'string', minLength: 1, maxLength: 200, description: 'Trigger node id' },
  },
  required: ['workflow_id', 'node_id'],
} as const;

/** The trigger if its workflow is the caller's; 404 otherwise (other users' workflows are not acknowledged). */
export async function findVisibleTrigger(
  s: Services,
  workflowId: string,
  nodeId: string,
  userId: string | null,
): Promise<{ wf: WorkflowRecord; trigger: TriggerRow }> {
  const wf = await visibleWorkflow(s, workflowId, userId);
  const trigger = (await listTriggersOfWorkflow(s.db, wf.id)).find((t) => t.nodeId === nodeId);
  if (!trigger) {
    throw appError(
      'SCHED_TRIGGER_NOT_FOUND',
      `workflow ${workflowId} has no deployed trigger node ${nodeId}`,
      { node_id: nodeId },
    );
  }
  return { wf, trigger };
}

const pauseSchema = {
  type: ['object', 'null'],
  description: 'The last pause or resume of this trigger through the API',
  properties: {
    action: { type: 'string', enum: ['pause', 'resume'] },
    note: { type: ['string', 'null'] },
    actor: { type: ['string', 'null'] },
    at: { type: 'string' },
  },
} as const;

export function registerTriggerRoutes(app: FastifyInstance, s: Services): void {
  app.get(
    '/api/v1/triggers/types',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: 'The trigger kinds this service implements',
        response: {
          200: {
            type: 'object',
            properties: {
              types: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    subtype: { type: 'string' },
                    description: { type: 'string' },
                    resume_modes: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      types: s.registry
        .all()
        .map((k) => ({ subtype: k.id, description: k.description, resume_modes: [...k.resumeModes] })),
    }),
  );

  app.get<{ Params: { workflow_id: string } }>(
    '/api/v1/triggers/workflows/:workflow_id/status',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: "A workflow's triggers and their state",
        params: workflowIdParam,
        response: {
          200: {
            type: 'object',
            properties: {
              workflow_id: { type: 'string' },
              deployment_status: { type: 'string' },
              trigger_status: { type: 'object', additionalProperties: { type: 'string' } },
              triggers: { type: 'array', items: looseObject },
            },
          },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => {
      const wf = await visibleWorkflow(s, request.params.workflow_id, request.principal?.userId ?? null);
      const triggers = await listTriggersOfWorkflow(s.db, wf.id);
      return {
        workflow_id: wf.id,
        deployment_status: wf.status,
        trigger_status: triggerStatusByKind(triggers),
        triggers: triggers.map((t) => triggerView(s, t)),
      };
    },
  );

  registerTriggerDescribe(app, s);
  registerPauseResume(app, s);
}

/** GET one trigger of any kind: its row, the last pause, and what its kind adds (a schedule's fires). */
function registerTriggerDescribe(app: FastifyInstance, s: Services): void {
  const kindProperties: Record<string, unknown> = {};
  for (const k of s.registry.all()) Object.assign(kindProperties, k.describeSchema?.properties ?? {});
  app.get<{ Params: { workflow_id: string; node_id: string }; Querystring: { limit?: number } }>(
    '/api/v1/triggers/workflows/:workflow_id/triggers/:node_id',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: 'Describe one trigger',
        description:
          'The trigger, its last pause or resume, and what its kind adds: for CRON the next and last fires ' +
          '(nominal, effective and dispatched times, outcome and reason) and counters of fired, missed and skipped.',
        params: nodeParams,
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'Next and last N' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflow_id: { type: 'string' },
              node_id: { type: 'string' },
              deployment_status: { type: 'string' },
              trigger: triggerSchema,
              paused: { type: 'boolean' },
              last_pause: pauseSchema,
              details: {
                type: 'object',
                description: 'Kind-specific parts',
                properties: kindProperties,
                additionalProperties: false,
              },
            },
          },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { workflow_id: workflowId, node_id: nodeId } = request.params;
      const { wf, trigger } = await findVisibleTrigger(
        s,
        workflowId,
        nodeId,
        request.principal?.userId ?? null,
      );
      const kind = s.registry.get(trigger.kind);
      const [lastPause, details] = await Promise.all([
        lastPauseEntry(s.db, wf.id, nodeId),
        kind?.describe
          ? kind.describe(trigger, s, { limit: request.query.limit ?? 10 })
          : Promise.resolve({}),
      ]);
      return {
        workflow_id: wf.id,
        node_id: nodeId,
        deployment_status: wf.status,
        trigger: triggerView(s, trigger),
        paused: !trigger.enabled || trigger.status !== 'active',
        last_pause: lastPause,
        details,
      };
    },
  );
}

/** Pause and resume one trigger without undeploying; every replica hears it through NOTIFY. */
function registerPauseResume(app: FastifyInstance, s: Services): void {
  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { workflow_id: string; node_id: string }; Body: { note?: string } | null }>(
      `/api/v1/triggers/workflows/:workflow_id/triggers/:node_id/${action}`,
      {
        preHandler: s.auth.preHandler,
        schema: {
          tags: ['triggers'],
          summary: action === 'pause' ? 'Pause one trigger' : 'Resume a paused trigger',
          description:
            action === 'pause'
              ? 'The trigger stops matching events and firing (a schedule leaves every scheduler loop within ' +
                'moments) until resumed; the workflow stays deployed. Idempotent.'
              : 'The trigger matches and fires again. A schedule counts from now: ticks while paused are not ' +
                'caught up. Idempotent.',
          params: nodeParams,
          body: {
            type: ['object', 'null'],
            properties: { note: { type: 'string', maxLength: 1000, description: 'Why (shown by describe)' } },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              properties: {
                workflow_id: { type: 'string' },
                node_id: { type: 'string' },
                changed: { type: 'boolean', description: 'false when it already was in that state' },
                trigger: triggerSchema,
                last_pause: pauseSchema,
              },
            },
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => {
        const { workflow_id: workflowId, node_id: nodeId } = request.params;
        const userId = request.principal?.userId ?? null;
        const { wf, trigger } = await findVisibleTrigger(s, workflowId, nodeId, userId);
        const enabled = action === 'resume';
        const changed = trigger.enabled !== enabled || trigger.status !== (enabled ? 'active' : 'inactive');
        let current = trigger;
        if (changed) {
          const now = ts(s.clock.now());
          current = await s.db.tx(async (q) => {
            const t = await setTriggerEnabled(q, wf.id, nodeId, enabled, now);
            if (!t) throw appError('SCHED_TRIGGER_NOT_FOUND', `trigger node ${nodeId} was removed meanwhile`);
            await insertPauseEntry(q, {
              workflowId: wf.id,
              nodeId,
              action,
              note: request.body?.note ?? null,
              actor: userId ?? 'service',
              at: now,
            });
            await q.query('SELECT pg_notify($1, $2)', [TRIGGER_CHANGES_CHANNEL, wf.id]);
            return t;
          });
          s.runtimes.changed(wf.id);
        }
        return {
          workflow_id: wf.id,
          node_id: nodeId,
          changed,
          trigger: triggerView(s, current),
          last_pause: await lastPauseEntry(s.db, wf.id, nodeId),
        };
      },
    );
  }
}
