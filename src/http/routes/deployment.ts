import type { FastifyInstance } from 'fastify';
import { listHistory } from '../../db/history.sql.js';
import { listTriggersOfWorkflow, listTriggersOfWorkflows } from '../../db/triggers.sql.js';
import {
  DEPLOYMENT_STATUSES,
  type DeploymentStatus,
  getWorkflow,
  listWorkflows,
  type WorkflowRecord,
} from '../../db/workflows.sql.js';
import { appError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { TriggerRow } from '../../triggers/types.js';
import { errorResponses, looseObject, workflowIdParam } from '../schemas.js';

/** The JSON shape of triggerView. */
export const triggerSchema = {
  type: 'object',
  properties: {
    trigger_id: { type: 'string' },
    node_id: { type: 'string' },
    subtype: { type: 'string' },
    index_key: { type: 'string' },
    enabled: { type: 'boolean' },
    status: { type: 'string', enum: ['active', 'inactive', 'pending', 'failed'] },
    resume_mode: { type: 'string' },
    config: looseObject,
  },
} as const;

const statusSchema = {
  type: 'object',
  properties: {
    deployment_id: { type: ['string', 'null'] },
    workflow_id: { type: 'string' },
    owner: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: [...DEPLOYMENT_STATUSES] },
    version: { type: 'integer', description: 'Number of successful deploys' },
    active_version: {
      type: ['integer', 'null'],
      description: 'Version whose triggers are live (null: none)',
    },
    deployed_at: { type: ['string', 'null'] },
    undeployed_at: { type: ['string', 'null'] },
    updated_at: { type: 'string' },
    last_error: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    trigger_count: { type: 'integer' },
    trigger_status: { type: 'object', additionalProperties: { type: 'string' } },
    triggers: { type: 'array', items: triggerSchema },
  },
} as const;

const deployResultSchema = {
  type: 'object',
  properties: {
    deployment_id: { type: 'string' },
    workflow_id: { type: 'string' },
    status: { type: 'string' },
    version: { type: 'integer' },
    message: { type: 'string' },
    created_at: { type: 'string' },
    triggers: { type: 'array', items: triggerSchema },
  },
} as const;

export function registerDeploymentRoutes(app: FastifyInstance, s: Services): void {
  const pre = s.auth.preHandler;

  app.post<{ Params: { workflow_id: string }; Body: { workflow_spec?: unknown } | null }>(
    '/api/v1/deployment/workflows/:workflow_id/deploy',
    {
      preHandler: pre,
      schema: {
        tags: ['deployment'],
        summary: 'Deploy (or redeploy) a workflow',
        description:
          'Body {"workflow_spec": {...}} deploys that specification; no body redeploys the stored one. ' +
          'Validation errors name the node and field. On any failure the previous deployment keeps running ' +
          'and the workflow reads DEPLOYMENT_FAILED with the reason.',
        params: workflowIdParam,
        body: {
          type: ['object', 'null'],
          properties: { workflow_spec: { type: 'object', additionalProperties: true } },
          additionalProperties: false,
        },
        response: { 200: deployResultSchema, ...errorResponses(400, 401, 404, 409, 502) },
      },
    },
    async (request) => {
      const p = request.principal!;
      return s.deployer.deploy({
        workflowId: request.params.workflow_id,
        spec: request.body?.workflow_spec,
        actingUserId: p.userId,
        scopeUserId: p.userId ?? undefined,
      });
    },
  );

  const undeploy = async (request: {
    params: { workflow_id: string };
    principal?: { userId: string | null };
  }) => {
    const p = request.principal!;
    return s.deployer.undeploy({
      workflowId: request.params.workflow_id,
      actingUserId: p.userId,
      scopeUserId: p.userId ?? undefined,
    });
  };
  const undeploySchema = {
    tags: ['deployment'],
    summary: 'Undeploy a workflow: its triggers stop matching at once',
    params: workflowIdParam,
    response: {
      200: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          workflow_id: { type: 'string' },
          removed_triggers: { type: 'integer' },
        },
      },
      ...errorResponses(401, 404),
    },
  };
  app.delete<{ Params: { workflow_id: string } }>(
    '/api/v1/deployment/workflows/:workflow_id/undeploy',
    { preHandler: pre, schema: undeploySchema },
    undeploy,
  );
  app.post<{ Params: { workflow_id: string } }>(
    '/api/v1/deployment/workflows/:workflow_id/undeploy',
    { preHandler: pre, schema: { ...undeploySchema, summary: 'Undeploy a workflow (POST alias of DELETE)' } },
    undeploy,
  );

  app.get<{ Params: { workflow_id: string } }>(
    '/api/v1/deployment/workflows/:workflow_id/status',
    {
      preHandler: pre,
      schema: {
        tags: ['deployment'],
        summary: 'Deployment status and triggers',
        params: workflowIdParam,
        response: { 200: statusSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const wf = await visibleWorkflow(s, request.params.workflow_id, request.principal?.userId ?? null);
      const [triggers, history] = await Promise.all([
        listTriggersOfWorkflow(s.db, wf.id),
        listHistory(s.db, wf.id, 1),
      ]);
      return statusView(s, wf, triggers, history[0]?.id ?? null);
    },
  );

  app.get<{ Params: { workflow_id: string }; Querystring: { limit?: number } }>(
    '/api/v1/deployment/workflows/:workflow_id/history',
    {
      preHandler: pre,
      schema: {
        tags: ['deployment'],
        summary: 'Deployment history, newest first',
        params: workflowIdParam,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflow_id: { type: 'string' },
              history: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    deployment_action: { type: 'string' },
                    from_status: { type: ['string', 'null'] },
                    to_status: { type: ['string', 'null'] },
                    deployment_version: { type: ['integer', 'null'] },
                    triggered_by: { type: ['string', 'null'] },
                    started_at: { type: 'string' },
                    completed_at: { type: ['string', 'null'] },
                    error_code: { type: ['string', 'null'] },
                    error_message: { type: ['string', 'null'] },
                    deployment_logs: {},
                  },
                },
              },
            },
          },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => {
      const wf = await visibleWorkflow(s, request.params.workflow_id, request.principal?.userId ?? null);
      const history = await listHistory(s.db, wf.id, request.query.limit ?? 50);
      return {
        workflow_id: wf.id,
        history: history.map((h) => ({
          id: h.id,
          deployment_action: h.action,
          from_status: h.fromStatus,
          to_status: h.toStatus,
          deployment_version: h.version,
          triggered_by: h.triggeredBy,
          started_at: h.startedAt,
          completed_at: h.completedAt,
          error_code: h.errorCode,
          error_message: h.errorMessage,
          deployment_logs: h.logs,
        })),
      };
    },
  );

  app.get<{ Querystring: { status?: DeploymentStatus; limit?: number; offset?: number } }>(
    '/api/v1/deployment/workflows',
    {
      preHandler: pre,
      schema: {
        tags: ['deployment'],
        summary: "The caller's workflows with their deployment status",
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: [...DEPLOYMENT_STATUSES] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { workflows: { type: 'array', items: statusSchema }, count: { type: 'integer' } },
          },
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const workflows = await listWorkflows(s.db, {
        userId: request.principal?.userId ?? undefined,
        status: request.query.status,
        limit: request.query.limit ?? 100,
        offset: request.query.offset ?? 0,
      });
      const triggers = await listTriggersOfWorkflows(
        s.db,
        workflows.map((w) => w.id),
      );
      const views = workflows.map((wf) =>
        statusView(
          s,
          wf,
          triggers.filter((t) => t.workflowId === wf.id),
          null,
        ),
      );
      return { workflows: views, count: views.length };
    },
  );
}

/** The workflow if the caller may see it; 404 otherwise (another user's workflow is not acknowledged). */
export async function visibleWorkflow(
  s: Services,
  workflowId: string,
  userId: string | null,
): Promise<WorkflowRecord> {
  const wf = await getWorkflow(s.db, workflowId);
  if (!wf || (userId !== null && wf.userId !== userId))
    throw appError('SCHED_WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`);
  return wf;
}

export function triggerView(s: Services, t: TriggerRow) {
  const kind = s.registry.get(t.kind);
  return {
    trigger_id: t.id,
    node_id: t.nodeId,
    subtype: t.kind,
    index_key: t.indexKey,
    enabled: t.enabled,
    status: t.status,
    resume_mode: t.resumeMode,
    config: kind?.publicConfig ? kind.publicConfig(t.config) : t.config,
  };
}

function statusView(
  s: Services,
  wf: WorkflowRecord,
  triggers: TriggerRow[],
  lastDeploymentId: string | null,
) {
  return {
    deployment_id: lastDeploymentId ? `deploy_${lastDeploymentId}` : null,
    workflow_id: wf.id,
    owner: wf.userId,
    name: wf.name,
    status: wf.status,
    version: wf.version,
    active_version: wf.activeVersion,
    deployed_at: wf.deployedAt,
    undeployed_at: wf.undeployedAt,
    updated_at: wf.updatedAt,
    last_error: wf.lastErrorCode ? { code: wf.lastErrorCode, message: wf.lastError ?? '' } : null,
    trigger_count: triggers.length,
    trigger_status: triggerStatusByKind(triggers),
    triggers: triggers.map((t) => triggerView(s, t)),
  };
}

/** One status per kind (the design's shape): active if any trigger of that kind is. */
export function triggerStatusByKind(triggers: readonly TriggerRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of triggers) if (out[t.kind] !== 'active') out[t.kind] = t.status;
  return out;
}
