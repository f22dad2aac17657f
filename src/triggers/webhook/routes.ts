import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { appError } from '../../errors.js';
import { errorResponses, headerValue } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { normalisePath } from './config.js';

/** Request material the admission check needs (method, headers, raw bytes); never stored. */
export interface WebhookTransient {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

// Headers that carry credentials are not copied into the stored event or the engine's trigger_data.
const SECRET_HEADER = /authorization|cookie|token|secret|signature|api-?key|password/i;

const ackSchema = {
  type: 'object',
  properties: {
    event_id: { type: 'string' },
    duplicate: {
      type: 'boolean',
      description: 'true when this delivery repeats an idempotency key already stored',
    },
  },
  required: ['event_id'],
} as const;

export async function registerWebhookRoutes(app: FastifyInstance, s: Services): Promise<void> {
  await app.register(async (scope) => {
    // The body is kept as raw bytes: signatures are computed over them, and any content type is accepted.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: s.config.webhookBodyLimit },
      (_req, body, done) => done(null, body),
    );
    scope.route<{ Params: { '*': string } }>({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: '/api/v1/public/webhook/*',
      bodyLimit: s.config.webhookBodyLimit,
      schema: {
        tags: ['webhooks'],
        summary: 'Deliver a request to a WEBHOOK trigger',
        description:
          'The request is stored and routed, then answered 202 with the event id; the engine is called ' +
          'afterwards. 404 unknown path, 405 (with Allow) wrong method, 401 failed header token or Standard ' +
          'Webhooks signature, 413 body over WEBHOOK_BODY_LIMIT_BYTES. A webhook-id or Idempotency-Key header ' +
          'deduplicates retries.',
        response: { 202: ackSchema, ...errorResponses(400, 401, 404, 405, 409, 413) },
      },
      handler: async (request, reply) => {
        const path = normalisePath(`/webhook/${request.params['*'] ?? ''}`);
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const now = s.clock.now();
        const contentType = headerValue(request.headers['content-type'], 200) ?? '';
        const clientKey =
          headerValue(request.headers['webhook-id']) ?? headerValue(request.headers['idempotency-key']);
        const out = await s.ingestor.ingest({
          kind: 'WEBHOOK',
          idempotencyKey: clientKey ? `WEBHOOK:${path}:${clientKey}` : `WEBHOOK:${randomUUID()}`,
          indexKey: path,
          receivedAt: now,
          payload: {
            trigger_type: 'WEBHOOK',
            method: request.method,
            path: request.url.split('?')[0],
            webhook_path: path,
            headers: storedHeaders(request),
            query_params: request.query ?? {},
            ...decodeBody(rawBody, contentType),
            content_type: contentType || null,
            client_ip: request.ip,
            remote_addr: request.ip,
            user_agent: headerValue(request.headers['user-agent'], 500) ?? null,
            triggered_at: new Date(now).toISOString(),
          },
          transient: { method: request.method, headers: request.headers, rawBody } satisfies WebhookTransient,
        });
        return reply.code(202).send({ event_id: out.eventId, duplicate: out.duplicate });
      },
    });
  });
}

function storedHeaders(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADER.test(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** JSON, form and text bodies are stored decoded; anything else as base64. */
function decodeBody(raw: Buffer, contentType: string): { body: unknown; body_encoding?: 'base64' } {
  if (raw.length === 0) return { body: null };
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return { body: JSON.parse(raw.toString('utf8')) };
    } catch {
      throw appError('SCHED_INVALID_JSON', 'the body is declared as JSON but does not parse');
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      const prev = form[k];
      form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return { body: form };
  }
  if (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml')) {
    return { body: raw.toString('utf8') };
  }
  return { body: raw.toString('base64'), body_encoding: 'base64' };
}
