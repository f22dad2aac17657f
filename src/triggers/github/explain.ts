import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { findByIndexKeys } from '../../db/triggers.sql.js';
import { errorResponses, looseObject } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import type { TriggerRow } from '../types.js';
import type { GithubConfig } from './config.js';
import { prepareDelivery } from './delivery.js';
import { metaOf } from './event.js';
import { matchGithub } from './match.js';

const bodySchema = {
  type: 'object',
  properties: {
    event_type: { type: 'string', pattern: '^[a-z_]{1,64}$', description: 'As X-GitHub-Event' },
    payload: { ...looseObject, description: 'A webhook payload (as GitHub sends it)' },
    changed_files: {
      type: 'array',
      items: { type: 'string', maxLength: 4096 },
      maxItems: 3000,
      description: 'Use these as the changed files instead of the push commits or the pull request API',
    },
  },
  required: ['event_type', 'payload'],
  additionalProperties: false,
} as const;

const decisionSchema = {
  type: 'object',
  properties: {
    workflow_id: { type: 'string' },
    trigger_node_id: { type: 'string' },
    enabled: { type: 'boolean' },
    matched: { type: 'boolean' },
    reason: { type: 'string', description: 'The first rule that decided (non-matches only)' },
  },
  required: ['workflow_id', 'trigger_node_id', 'enabled', 'matched'],
} as const;

const resultSchema = {
  type: 'object',
  properties: {
    repository: { type: 'string' },
    event_type: { type: 'string' },
    action: { type: ['string', 'null'] },
    changed_files: { type: ['object', 'null'], additionalProperties: true },
    triggers: { type: 'array', items: decisionSchema },
  },
  required: ['repository', 'event_type', 'triggers'],
} as const;

/**
 * POST /api/v1/github/explain: what a delivery would do, without storing or dispatching anything. The
 * same decisions, with the same reasons, are stored on every real delivery's event (meta.routing).
 */
export function registerGithubExplain(app: FastifyInstance, s: Services): void {
  app.post<{ Body: { event_type: string; payload: Record<string, unknown>; changed_files?: string[] } }>(
    '/api/v1/github/explain',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags: ['triggers'],
        summary: "Explain which of the caller's GitHub triggers an event would fire, and why not",
        description:
          "Each GITHUB trigger of the caller on the payload's repository, matched or not with the first " +
          'rule that decided. Pull request files are fetched as for a real delivery unless changed_files is given.',
        body: bodySchema,
        response: { 200: resultSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const userId = request.principal?.userId ?? null;
      const { event_type: eventType, payload, changed_files: changedFiles } = request.body;
      const { event, candidates } = await prepareDelivery(s, {
        eventType,
        deliveryId: `explain:${randomUUID()}`,
        payload,
        receivedAt: s.clock.now(),
        ...(changedFiles ? { changedFiles } : {}),
      });
      const all =
        candidates ??
        ((await findByIndexKeys(s.db, [
          { kind: 'GITHUB', indexKey: event.indexKey },
        ])) as TriggerRow<GithubConfig>[]);
      const mine = all
        .filter((t) => userId === null || t.userId === userId)
        .sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.nodeId.localeCompare(b.nodeId));
      return {
        repository: event.indexKey,
        event_type: eventType,
        action: typeof payload.action === 'string' ? payload.action : null,
        changed_files: metaOf(event)?.changed_files ?? null,
        triggers: mine.map((t) => {
          const base = { workflow_id: t.workflowId, trigger_node_id: t.nodeId, enabled: t.enabled };
          // Same order as the ingestor: a paused trigger is reported as such before its filters.
          if (!t.enabled || t.status !== 'active')
            return { ...base, matched: false, reason: 'trigger is paused' };
          const d = matchGithub(t.config, event);
          return d.matched ? { ...base, matched: true } : { ...base, matched: false, reason: d.reason };
        }),
      };
    },
  );
}
