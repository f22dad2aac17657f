import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ts } from '../../db/db.js';
import { AppError } from '../../errors.js';
import { errorResponses, headerValue } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { prepareDelivery } from './delivery.js';
import { obj } from './event.js';
import { applyInstallationEvent, insertDelivery } from './github.sql.js';

/** GitHub caps payloads at 25 MB and does not deliver larger events (protocols.md §1). */
export const GITHUB_BODY_LIMIT = 25 * 1024 * 1024;
const EVENT_RE = /^[a-z_]{1,64}$/;
const DELIVERY_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const INSTALLATION_EVENTS = new Set(['installation', 'installation_repositories']);

/** `sha256=<64 hex>` over the exact bytes received, compared in constant time on equal-length buffers. */
export function verifyGithubSignature(secret: string, raw: Buffer, header: string | undefined): boolean {
  const m = header ? /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim()) : null;
  if (!m?.[1]) return false;
  const got = Buffer.from(m[1], 'hex');
  const want = createHmac('sha256', secret).update(raw).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}

function parsePayload(raw: Buffer, contentType: string): Record<string, unknown> {
  let text = raw.toString('utf8');
  if (contentType.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded') {
    const field = new URLSearchParams(text).get('payload');
    if (field === null)
      throw new AppError('SCHED_GITHUB_PAYLOAD_INVALID', 'the form body has no payload field');
    text = field;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('SCHED_GITHUB_PAYLOAD_INVALID', 'the payload is not valid JSON');
  }
  const o = obj(value);
  if (!o) throw new AppError('SCHED_GITHUB_PAYLOAD_INVALID', 'the payload is not a JSON object');
  return o;
}

const ackSchema = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    delivery_id: { type: 'string' },
    event_id: { type: 'string' },
    duplicate: { type: 'boolean', description: 'true for a redelivery of a stored delivery id' },
    matched: { type: 'integer', description: 'workflows this delivery was dispatched to' },
  },
  required: ['ok', 'delivery_id', 'event_id', 'duplicate', 'matched'],
} as const;

/**
 * POST /api/v1/github/webhook. Order: size limit while reading (413) → secret configured (503) →
 * signature over the raw bytes (401) → headers (400) → parse → changed files → one transaction with the
 * event, its dispatches, the delivery record and installation updates → 200. The engine is called later.
 */
export async function registerGithubWebhook(app: FastifyInstance, s: Services): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      scope.addContentTypeParser(
        type,
        { parseAs: 'buffer', bodyLimit: GITHUB_BODY_LIMIT },
        (_r, body, done) => done(null, body),
      );
    }
    scope.post(
      '/api/v1/github/webhook',
      {
        bodyLimit: GITHUB_BODY_LIMIT,
        schema: {
          tags: ['webhooks'],
          summary: 'Receive a GitHub (App) webhook delivery',
          description:
            'Verified with X-Hub-Signature-256 (GITHUB_WEBHOOK_SECRET) on the raw body; JSON or form ' +
            '(`payload=`) up to 25 MB. Stored with its dispatches before the 200; a redelivery of the same ' +
            'X-GitHub-Delivery is answered 200 with duplicate=true and dispatches nothing. `ping` is recorded only.',
          response: { 200: ackSchema, ...errorResponses(400, 401, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const secret = s.config.github.webhookSecret;
        if (!secret) throw new AppError('SCHED_GITHUB_WEBHOOK_NOT_CONFIGURED');
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = headerValue(request.headers['x-hub-signature-256'], 200);
        if (!verifyGithubSignature(secret, raw, signature)) {
          const sha1Only = !signature && headerValue(request.headers['x-hub-signature']) !== undefined;
          throw new AppError(
            'SCHED_GITHUB_SIGNATURE_INVALID',
            signature
              ? 'X-Hub-Signature-256 does not match the body'
              : `X-Hub-Signature-256 is required${sha1Only ? ' (SHA-1 X-Hub-Signature alone is not accepted)' : ''}`,
          );
        }
        const eventType = headerValue(request.headers['x-github-event'], 100);
        const deliveryId = headerValue(request.headers['x-github-delivery'], 200);
        if (!eventType || !EVENT_RE.test(eventType) || !deliveryId || !DELIVERY_RE.test(deliveryId)) {
          throw new AppError(
            'SCHED_GITHUB_HEADERS_MISSING',
            'X-GitHub-Event (an event name) and X-GitHub-Delivery (the delivery GUID) are required',
          );
        }
        const payload = parsePayload(raw, headerValue(request.headers['content-type']) ?? '');
        const receivedAt = s.clock.now();
        const { event } = await prepareDelivery(s, { eventType, deliveryId, payload, receivedAt });
        const out = await s.ingestor.ingest({
          ...event,
          // ping is recorded, never routed; so is a delivery that names no repository (installation events).
          ...(eventType === 'ping' || event.indexKey === '' ? { triggerIds: [] } : {}),
          onStored: async (q, eventId) => {
            const now = ts(receivedAt);
            await insertDelivery(q, { deliveryId, eventType, payload, eventId, now });
            if (INSTALLATION_EVENTS.has(eventType)) await applyInstallationEvent(q, eventType, payload, now);
          },
        });
        return reply.code(200).send({
          ok: true,
          delivery_id: deliveryId,
          event_id: out.eventId,
          duplicate: out.duplicate,
          matched: out.matched,
        });
      },
    );
  });
}
