import type { FastifyInstance } from 'fastify';
import { listTriggersOfWorkflow } from '../../db/triggers.sql.js';
import type { Services } from '../../services.js';
import { errorResponses, looseObject, workflowIdParam } from '../schemas.js';
import { triggerStatusByKind, triggerView, visibleWorkflow } from './deployment.js';

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
}
