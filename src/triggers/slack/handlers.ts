import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError, appError } from '../../errors.js';
import { headerValue } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { parseSlackJson, type SlackGuard, str } from './guard.js';
import { normaliseBlockActions, normaliseEventCallback } from './ingress.js';
import { recordRateLimitNotice } from './notices.js';

export type EventsAnswer =
  | { challenge: string }
  | { ok: true; event_id?: string; duplicate?: boolean; ignored?: true };

/** POST /api/v1/slack/events: verify, then url_verification, app_rate_limited or an event_callback to store. */
export async function handleEvents(
  s: Services,
  guard: SlackGuard,
  request: FastifyRequest,
): Promise<EventsAnswer> {
  // Without a secret every request is refused, ssl_check included.
  if (!s.config.slack.signingSecret) throw new AppError('SCHED_SLACK_NOT_CONFIGURED');
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  // Slack's certificate probe is unsigned (Bolt exempts it too); it does nothing here.
  if (isForm(request) && new URLSearchParams(raw.toString('utf8')).get('ssl_check') === '1')
    return { ok: true };
  guard.verified(request);
  const body = parseSlackJson(raw.toString('utf8'));
  switch (body.type) {
    case 'url_verification':
      return { challenge: String(body.challenge ?? '') };
    case 'app_rate_limited': {
      const teamId = str(body.team_id) ?? '';
      const fresh = await recordRateLimitNotice(s.db, {
        apiAppId: str(body.api_app_id) ?? '',
        teamId,
        minuteRateLimited: Number(body.minute_rate_limited) || 0,
        receivedAt: s.clock.now(),
      });
      if (fresh) {
        guard.rateLimited.inc({ team_id: teamId });
        request.log.warn(
          { team_id: teamId },
          'Slack rate-limited this app: events of the workspace were dropped',
        );
      }
      return { ok: true };
    }
    case 'event_callback':
      break;
    default:
      return { ok: true, ignored: true };
  }
  const appId = str(body.api_app_id);
  guard.checkApp(appId);
  const eventId = str(body.event_id);
  const teamId = str(body.team_id);
  if (!appId || !eventId || !teamId) {
    throw appError('SCHED_VALIDATION', 'event_callback needs api_app_id, event_id and team_id');
  }
  const retryNum = headerValue(request.headers['x-slack-retry-num'], 10);
  const retryReason = headerValue(request.headers['x-slack-retry-reason'], 50);
  if (retryNum) guard.retries.inc({ reason: retryReason ?? 'unknown' });
  // A retry is not dropped by its header: if our first attempt failed before commit, it is the only copy.
  // The unique idempotency key decides what is new.
  const out = await s.ingestor.ingest({
    kind: 'SLACK',
    idempotencyKey: `SLACK:${appId}:${eventId}`,
    indexKey: teamId,
    payload: normaliseEventCallback(body),
    receivedAt: s.clock.now(),
    ...(retryNum ? { meta: { slack_retry_num: retryNum, slack_retry_reason: retryReason ?? null } } : {}),
  });
  return { ok: true, event_id: out.eventId, duplicate: out.duplicate };
}

/** POST /api/v1/slack/interactive: block_actions become SLACK events; the event id when one was stored. */
export async function handleInteraction(
  s: Services,
  guard: SlackGuard,
  request: FastifyRequest,
): Promise<string | undefined> {
  const raw = guard.verified(request);
  const text = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (!text) throw appError('SCHED_VALIDATION', 'the form field payload is required', { field: 'payload' });
  const payload = parseSlackJson(text);
  const appId = str(payload.api_app_id);
  guard.checkApp(appId);
  if (payload.type !== 'block_actions') return undefined;
  const event = normaliseBlockActions(payload);
  if (!event.team_id)
    throw appError('SCHED_VALIDATION', 'block_actions without team.id', { field: 'payload.team' });
  // Each click has its own trigger_id; Slack does not retry interactions, so this only guards replays.
  const id = str(payload.trigger_id) ?? createHash('sha256').update(raw).digest('hex');
  const out = await s.ingestor.ingest({
    kind: 'SLACK',
    idempotencyKey: `SLACK:${appId ?? '-'}:interaction:${id}`,
    indexKey: event.team_id,
    payload: event,
    receivedAt: s.clock.now(),
  });
  return out.eventId;
}

function isForm(request: FastifyRequest): boolean {
  const type = headerValue(request.headers['content-type']) ?? '';
  return type.toLowerCase().startsWith('application/x-www-form-urlencoded');
}
