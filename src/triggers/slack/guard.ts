import type { FastifyRequest } from 'fastify';
import { AppError, appError } from '../../errors.js';
import type { Services } from '../../services.js';
import { verifySlackSignature } from './verify.js';

export type Obj = Record<string, unknown>;
export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The checks every Slack request passes before anything is stored, and the Slack counters. */
export class SlackGuard {
  readonly refused;
  readonly retries;
  readonly rateLimited;

  constructor(private readonly s: Services) {
    this.refused = s.metrics.counter(
      'scheduler_slack_requests_refused_total',
      'Slack requests refused before storage, by reason',
      ['reason'],
    );
    this.retries = s.metrics.counter(
      'scheduler_slack_retries_total',
      'Slack deliveries that were retries (X-Slack-Retry-Num), by X-Slack-Retry-Reason',
      ['reason'],
    );
    this.rateLimited = s.metrics.counter(
      'scheduler_slack_app_rate_limited_total',
      'app_rate_limited notices: Slack dropped events of a workspace (30,000 events/hour/workspace)',
      ['team_id'],
    );
  }

  /** No secret: refuse. Then the v0 signature over the raw bytes; one opaque 401 whatever failed. */
  verified(request: FastifyRequest): Buffer {
    const secret = this.s.config.slack.signingSecret;
    if (!secret) throw new AppError('SCHED_SLACK_NOT_CONFIGURED');
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const v = verifySlackSignature(secret, request.headers, raw, this.s.clock.now());
    if (!v.ok) {
      this.refused.inc({ reason: 'signature' });
      request.log.debug({ reason: v.reason }, 'slack signature rejected');
      throw new AppError('SCHED_SLACK_SIGNATURE_INVALID');
    }
    return raw;
  }

  /** With SLACK_APP_ID set, deliveries of another app are refused (and Slack asked not to retry). */
  checkApp(apiAppId: string | null): void {
    const expected = this.s.config.slack.appId;
    if (expected && apiAppId !== expected) {
      this.refused.inc({ reason: 'app' });
      throw new AppError(
        'SCHED_SLACK_APP_MISMATCH',
        `api_app_id ${apiAppId ?? '(none)'} is not SLACK_APP_ID`,
        {
          headers: { 'x-slack-no-retry': '1' },
        },
      );
    }
  }
}

export function parseSlackJson(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw appError('SCHED_INVALID_JSON', 'the Slack body is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw appError('SCHED_VALIDATION', 'the Slack body is not an object');
  }
  return v as Obj;
}
