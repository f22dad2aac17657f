import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { SlackGuard } from './guard.js';
import { handleEvents, handleInteraction } from './handlers.js';

const eventsAck = {
  type: 'object',
  description:
    'url_verification: {challenge}; event_callback: the stored event id (duplicate: a retry already stored)',
  properties: {
    challenge: { type: 'string' },
    ok: { type: 'boolean' },
    event_id: { type: 'string' },
    duplicate: { type: 'boolean' },
    ignored: { type: 'boolean' },
  },
} as const;

/**
 * Slack ingress. Both routes verify the signature over the raw bytes (an encapsulated scope whose parser
 * keeps the body as a Buffer) before anything is parsed, store the event, and answer: the engine is called
 * afterwards by the dispatcher, so the answer comes well inside Slack's 3 s whatever the engine does.
 */
export async function registerSlackRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const limit = s.config.slack.bodyLimit;
  const guard = new SlackGuard(s);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) =>
      done(null, body),
    );

    scope.post(
      '/api/v1/slack/events',
      {
        bodyLimit: limit,
        schema: {
          tags: ['webhooks'],
          summary: 'Slack Events API request URL',
          description:
            'Verifies X-Slack-Signature (v0, 5 minute window) on the raw body; answers url_verification with its ' +
            'challenge and ssl_check with 200; stores event_callback deliveries (deduplicated on api_app_id + ' +
            'event_id, so retries are acknowledged without a second run) and records app_rate_limited notices. ' +
            '503 SCHED_SLACK_NOT_CONFIGURED without SLACK_SIGNING_SECRET.',
          security: [],
          response: { 200: eventsAck, ...errorResponses(400, 401, 403, 413, 503) },
        },
      },
      (request) => handleEvents(s, guard, request),
    );

    scope.post(
      '/api/v1/slack/interactive',
      {
        bodyLimit: limit,
        schema: {
          tags: ['webhooks'],
          summary: 'Slack interactivity request URL (block_actions from buttons and menus)',
          description:
            'Verifies the signature, then stores block_actions as SLACK events (event_type "block_actions") and ' +
            'answers 200 with an empty body, as Slack expects (X-Scheduler-Event-Id names the stored event); ' +
            'other interaction types are acknowledged only.',
          security: [],
          response: {
            200: { type: 'null', description: 'Acknowledged (empty body)' },
            ...errorResponses(400, 401, 403, 413, 503),
          },
        },
      },
      async (request, reply) => {
        const eventId = await handleInteraction(s, guard, request);
        if (eventId) reply.header('x-scheduler-event-id', eventId);
        return reply.code(200).send();
      },
    );
  });
}
