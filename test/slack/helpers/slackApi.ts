import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Slack Web API (https://api.slack.com/methods) on loopback, answering as Slack does: form-encoded
 * POSTs with a bearer token, `{ok:…}` bodies, cursor pagination in `response_metadata.next_cursor`, and
 * rate limiting as HTTP 429 with Retry-After or as `{ok:false, error:"ratelimited"}`.
 */
export interface FakeWorkspace {
  teamId: string;
  team: string;
  botUserId: string;
  botId: string;
  channels: { id: string; name: string; is_private?: boolean }[];
}

export interface FakeCall {
  method: string;
  token: string | undefined;
  params: Record<string, string>;
  status: number;
}

export class FakeSlackApi {
  readonly calls: FakeCall[] = [];
  readonly tokens = new Map<string, FakeWorkspace>();
  /** Channels per page (Slack may return fewer than `limit`). */
  pageSize = 2;
  /** Answer the next conversations.list page request number N (0-based count of such calls) with a 429. */
  rateLimit429At: { call: number; retryAfterS: number } | undefined;
  /** Answer call number N of conversations.list with {ok:false, error:"ratelimited"}. */
  rateLimitedOkAt: { call: number; retryAfterS: number } | undefined;
  /** Tokens without groups:read: asking for private channels answers missing_scope. */
  readonly publicOnlyTokens = new Set<string>();
  private server: Server | undefined;
  private listCalls = 0;
  url = '';

  addWorkspace(token: string, ws: FakeWorkspace): void {
    this.tokens.set(token, ws);
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.calls.push({ method, token, params, status });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const ws = token ? this.tokens.get(token) : undefined;
    if (!token) return send(200, { ok: false, error: 'not_authed' });
    if (!ws) return send(200, { ok: false, error: 'invalid_auth' });
    if (method === 'auth.test') {
      return send(200, {
        ok: true,
        url: `https://${ws.team.toLowerCase()}.slack.com/`,
        team: ws.team,
        user: 'workflow-bot',
        team_id: ws.teamId,
        user_id: ws.botUserId,
        bot_id: ws.botId,
        is_enterprise_install: false,
      });
    }
    if (method === 'conversations.list') {
      const n = this.listCalls++;
      if (this.rateLimit429At?.call === n) {
        return send(
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(this.rateLimit429At.retryAfterS) },
        );
      }
      if (this.rateLimitedOkAt?.call === n) {
        return send(
          200,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(this.rateLimitedOkAt.retryAfterS) },
        );
      }
      const types = (params.types ?? 'public_channel').split(',');
      if (types.includes('private_channel') && this.publicOnlyTokens.has(token)) {
        return send(200, {
          ok: false,
          error: 'missing_scope',
          needed: 'groups:read',
          provided: 'channels:read',
        });
      }
      const visible = ws.channels.filter((c) =>
        types.includes(c.is_private ? 'private_channel' : 'public_channel'),
      );
      const offset = params.cursor
        ? Number(Buffer.from(params.cursor, 'base64').toString('utf8').slice(3))
        : 0;
      const page = visible.slice(offset, offset + this.pageSize);
      const next =
        offset + this.pageSize < visible.length
          ? Buffer.from(`id:${offset + this.pageSize}`).toString('base64')
          : '';
      return send(200, {
        ok: true,
        channels: page.map((c) => ({
          id: c.id,
          name: c.name,
          is_channel: true,
          is_private: Boolean(c.is_private),
        })),
        response_metadata: { next_cursor: next },
      });
    }
    send(200, { ok: false, error: 'unknown_method' });
  }
}
