import { request } from 'undici';
import type { Clock } from '../../clock.js';
import { AppError, appError } from '../../errors.js';

export interface AuthTest {
  teamId: string;
  team: string | null;
  userId: string | null;
  botId: string | null;
  enterpriseId: string | null;
}

export interface SlackChannel {
  id: string;
  name: string;
}

type Json = Record<string, unknown>;

const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);
/** A Retry-After longer than this fails the deploy (with the wait) rather than holding it open. */
const MAX_WAIT_MS = 120_000;
const MAX_RATE_LIMIT_RETRIES = 5;
const MAX_PAGES = 500;

/**
 * The few Web API methods deploy-time resolution needs (auth.test, conversations.list). Rate limits are
 * honoured as Slack asks: on HTTP 429 or `{ok:false, error:"ratelimited"}` wait exactly Retry-After
 * seconds (on the injected clock) and try again.
 */
export class SlackWebApi {
  constructor(private readonly opts: { baseUrl: string; clock: Clock; timeoutMs?: number }) {}

  async call(method: string, token: string, params: Record<string, string> = {}): Promise<Json> {
    for (let attempt = 0; ; attempt++) {
      const { status, body, retryAfterS } = await this.send(method, token, params);
      const limited = status === 429 || body?.error === 'ratelimited';
      if (limited) {
        const waitMs = (retryAfterS ?? 1) * 1000;
        if (attempt >= MAX_RATE_LIMIT_RETRIES || waitMs > MAX_WAIT_MS) {
          throw new AppError(
            'SCHED_SLACK_RATE_LIMITED',
            `Slack rate-limits ${method}; retry in ${waitMs / 1000} s`,
            {
              headers: { 'retry-after': String(Math.ceil(waitMs / 1000)) },
            },
          );
        }
        await this.opts.clock.sleep(waitMs);
        continue;
      }
      if (!body) {
        throw appError(
          'SCHED_TRIGGER_RESOLUTION_FAILED',
          `Slack ${method} answered HTTP ${status} without JSON`,
        );
      }
      if (body.ok === true) return body;
      const error = typeof body.error === 'string' ? body.error : `HTTP ${status}`;
      if (TOKEN_ERRORS.has(error)) {
        throw new AppError(
          'SCHED_SLACK_TOKEN_INVALID',
          `Slack rejected the token (${error}); connect Slack again`,
        );
      }
      if (error === 'missing_scope') {
        const needed = typeof body.needed === 'string' ? body.needed : 'unknown';
        throw new AppError(
          'SCHED_SLACK_MISSING_SCOPE',
          `the Slack token lacks the scope ${needed} (${method})`,
          {
            details: { needed },
          },
        );
      }
      throw appError('SCHED_TRIGGER_RESOLUTION_FAILED', `Slack ${method} failed: ${error}`);
    }
  }

  async authTest(token: string): Promise<AuthTest> {
    const r = await this.call('auth.test', token);
    const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    const teamId = s(r.team_id);
    if (!teamId) throw appError('SCHED_TRIGGER_RESOLUTION_FAILED', 'Slack auth.test returned no team_id');
    return {
      teamId,
      team: s(r.team),
      userId: s(r.user_id),
      botId: s(r.bot_id),
      enterpriseId: s(r.enterprise_id),
    };
  }

  /** Every channel the token can see, page by page until the cursor is empty (short pages are not the end). */
  async listChannels(token: string, types = 'public_channel,private_channel'): Promise<SlackChannel[]> {
    const out: SlackChannel[] = [];
    let cursor = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const params: Record<string, string> = { types, exclude_archived: 'true', limit: '1000' };
      if (cursor) params.cursor = cursor;
      const r = await this.call('conversations.list', token, params);
      for (const c of Array.isArray(r.channels) ? r.channels : []) {
        const { id, name } = c as { id?: unknown; name?: unknown };
        if (typeof id === 'string' && typeof name === 'string') out.push({ id, name });
      }
      const next = (r.response_metadata as { next_cursor?: unknown } | undefined)?.next_cursor;
      cursor = typeof next === 'string' ? next : '';
      if (!cursor) return out;
    }
    throw appError(
      'SCHED_TRIGGER_RESOLUTION_FAILED',
      `conversations.list did not end after ${MAX_PAGES} pages`,
    );
  }

  private async send(
    method: string,
    token: string,
    params: Record<string, string>,
  ): Promise<{ status: number; body: Json | undefined; retryAfterS: number | undefined }> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.opts.baseUrl}${method}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          accept: 'application/json',
        },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      // The message names the failure, never the token (it is only in a header).
      throw appError(
        'SCHED_TRIGGER_RESOLUTION_FAILED',
        `Slack ${method} unreachable: ${(err as Error).message}`,
      );
    }
    const text = await res.body.text().catch(() => '');
    let body: Json | undefined;
    try {
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      body = parsed && typeof parsed === 'object' ? (parsed as Json) : undefined;
    } catch {
      body = undefined;
    }
    const ra = res.headers['retry-after'];
    const raw = Array.isArray(ra) ? ra[0] : ra;
    const retryAfterS = raw !== undefined && /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
    return { status: res.statusCode, body, retryAfterS };
  }
}
