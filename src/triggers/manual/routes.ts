import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { listDispatches } from '../../db/dispatches.sql.js';
import { listTriggersOfWorkflow } from '../../db/triggers.sql.js';
import { getWorkflow } from '../../db/workflows.sql.js';
import { AppError, appError } from '../../errors.js';
import { errorResponses, headerValue, workflowIdParam } from '../../http/schemas.js';
import type { Services } from '../../services.js';

const bodySchema = {
  type: ['object', 'null'],
  properties: {
    input_data: {
      type: 'object',
      additionalProperties: true,
      description: 'Passed to the run as trigger_data.input_data',
    },
    trigger_node_id: {
      type: 'string',
      description: 'Which manual trigger to fire when the workflow has several',
    },
  },
  additionalProperties: false,
} as const;

const resultSchema = {
  type: 'object',
  properties: {
    workflow_id: { type: 'string' },
    event_id: { type: 'string' },
    dispatch_id: { type: 'string' },
    execution_id: { type: ['string', 'null'] },
    status: {
      type: 'string',
      description: 'RUNNING (engine accepted), RESUMED, pending (not answered yet), dead',
    },
    message: { type: 'string' },
    started_at: { type: 'string' },
    last_error: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

export function registerManualRoutes(app: FastifyInstance, s: Services): void {
  app.post<{
    Params: { workflow_id: string };
    Body: { input_data?: Record<string, unknown>; trigger_node_id?: string } | null;
  }>(
    '/api/v1/triggers/workflows/:workflow_id/manual',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: 'Run a deployed workflow from its manual trigger',
        description:
          'Stores the event, then waits up to MANUAL_WAIT_MS for the engine. 200 with the execution id when the ' +
          'engine answered in time, else 202 with the dispatch id (delivery continues in the background). ' +
          'An Idempotency-Key header makes retries of the same request return the first run.',
        params: workflowIdParam,
        body: bodySchema,
        response: { 200: resultSchema, 202: resultSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { workflow_id: workflowId } = request.params;
      const body = request.body ?? {};
      const principal = request.principal!;
      const wf = await getWorkflow(s.db, workflowId);
      if (!wf || (principal.userId !== null && wf.userId !== principal.userId)) {
        throw appError('SCHED_WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`);
      }
      if (wf.activeVersion === null) {
        throw appError(
          'SCHED_WORKFLOW_NOT_DEPLOYED',
          `workflow ${workflowId} is ${wf.status}; deploy it first`,
        );
      }
      const manual = (await listTriggersOfWorkflow(s.db, workflowId)).filter((t) => t.kind === 'MANUAL');
      if (manual.length === 0)
        throw new AppError('SCHED_NO_MANUAL_TRIGGER', `workflow ${workflowId} has no MANUAL trigger`);
      let trigger = manual[0]!;
      if (body.trigger_node_id !== undefined) {
        const found = manual.find((t) => t.nodeId === body.trigger_node_id);
        if (!found) {
          throw appError('SCHED_TRIGGER_NOT_FOUND', `no MANUAL trigger node ${body.trigger_node_id}`, {
            field: 'trigger_node_id',
          });
        }
        trigger = found;
      } else if (manual.length > 1) {
        throw appError(
          'SCHED_AMBIGUOUS_TRIGGER',
          `workflow ${workflowId} has ${manual.length} manual triggers (${manual.map((t) => t.nodeId).join(', ')}); name one in trigger_node_id`,
          { field: 'trigger_node_id' },
        );
      }
      if (!trigger.enabled || trigger.status !== 'active') {
        throw appError('SCHED_TRIGGER_DISABLED', `manual trigger ${trigger.nodeId} is paused`, {
          node_id: trigger.nodeId,
        });
      }
      const now = s.clock.now();
      const clientKey = headerValue(request.headers['idempotency-key']);
      const out = await s.ingestor.ingest({
        kind: 'MANUAL',
        idempotencyKey: clientKey ? `MANUAL:${workflowId}:${clientKey}` : `MANUAL:${randomUUID()}`,
        indexKey: workflowId,
        triggerIds: [trigger.id],
        receivedAt: now,
        payload: {
          trigger_type: 'MANUAL',
          user_id: principal.userId ?? wf.userId,
          triggered_at: new Date(now).toISOString(),
          input_data: body.input_data ?? {},
        },
      });
      if (out.duplicate) {
        const first = () => listDispatches(s.db, { eventIds: [out.eventId], limit: 1 }).then((r) => r[0]);
        let d = await first();
        let executionId = d?.executionId ?? null;
        if (d && !executionId && d.status === 'in_flight') {
          // The first run is under way, or answered and not yet written: the retry gets its answer too,
          // within the same wait as the first request.
          const o = await s.dispatcher.waitFor(d.id, s.config.manualWaitMs);
          if (o?.status === 'succeeded') executionId = o.executionId;
          // Written between the read and the wait: read it again.
          else if (!o) d = await first();
          executionId ??= d?.executionId ?? null;
        }
        return reply.code(executionId ? 200 : 202).send({
          workflow_id: workflowId,
          event_id: out.eventId,
          dispatch_id: d?.id ?? '',
          execution_id: executionId,
          status: executionId ? 'RUNNING' : (d?.status ?? 'pending'),
          message: 'duplicate request (same Idempotency-Key): the first run is returned',
        });
      }
      const dispatch = out.dispatches[0];
      if (!dispatch) {
        throw appError(
          'SCHED_TRIGGER_DISABLED',
          `manual trigger ${trigger.nodeId} was paused or removed meanwhile`,
        );
      }
      const outcome = await s.dispatcher.waitFor(dispatch.id, s.config.manualWaitMs);
      if (outcome?.status === 'succeeded') {
        return reply.code(200).send({
          workflow_id: workflowId,
          event_id: out.eventId,
          dispatch_id: dispatch.id,
          execution_id: outcome.executionId,
          status: outcome.resumed ? 'RESUMED' : 'RUNNING',
          message: outcome.resumed ? 'a paused execution was resumed' : 'execution started',
          started_at: new Date(now).toISOString(),
        });
      }
      return reply.code(202).send({
        workflow_id: workflowId,
        event_id: out.eventId,
        dispatch_id: dispatch.id,
        execution_id: null,
        status: outcome?.status ?? 'pending',
        message:
          outcome?.status === 'dead'
            ? 'the engine refused the run; see the dispatch'
            : 'accepted; the engine has not confirmed yet (delivery is retried until it does)',
        last_error: outcome?.errorCode ? { code: outcome.errorCode, message: outcome.error } : null,
      });
    },
  );
}
