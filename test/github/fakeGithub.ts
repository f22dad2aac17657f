import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

/**
 * A local stand-in for the GitHub REST API, following its documented behaviour for the calls the
 * service makes: App JWT auth (RS256, iss = App id, exp ≤ 10 min), installation access tokens (201,
 * one hour), pull request files (per_page ≤ 100, Link rel="next"/"last"), repository installations (404
 * when the App is not installed). Failures and delays are switchable per endpoint.
 */
export class FakeGitHub {
  readonly appId = '12345';
  readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  url = '';
  private server: Server | undefined;
  readonly requests: { method: string; path: string; auth: string }[] = [];
  readonly jwtClaims: Record<string, unknown>[] = [];
  /** PR files by `owner/repo#number`. */
  readonly files = new Map<string, string[]>();
  /** Installations by lower-case `owner/repo`. */
  readonly installations = new Map<
    string,
    { id: number; account: { login: string; id: number; type: string } }
  >();
  readonly tokens = new Map<string, number>();
  fail: { tokens?: number; files?: number; installation?: number } = {};
  delayMs = 0;
  /** Link header origin override (to check the client never follows foreign links). */
  linkOrigin: string | undefined;
  private minted = 0;

  constructor(private readonly now: () => number = Date.now) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") keys.
    this.privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.publicKey = publicKey;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(`${r.method} ${r.path}`)).length;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private async appJwtOk(auth: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(auth.replace(/^Bearer /, ''), this.publicKey, {
        algorithms: ['RS256'],
        issuer: this.appId,
        currentDate: new Date(this.now()),
      });
      if (
        typeof payload.exp !== 'number' ||
        typeof payload.iat !== 'number' ||
        payload.exp - payload.iat > 660
      )
        return false;
      this.jwtClaims.push(payload);
      return true;
    } catch {
      return false;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req) {
      // drain
    }
    const url = new URL(req.url ?? '/', this.url);
    const auth = String(req.headers.authorization ?? '');
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, auth });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    let m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      if (this.fail.tokens) return this.send(res, this.fail.tokens, { message: 'failure' });
      if (!(await this.appJwtOk(auth)))
        return this.send(res, 401, { message: 'A JSON web token could not be decoded' });
      const token = `ghs_fake_${++this.minted}_${m[1]}`;
      this.tokens.set(token, Number(m[1]));
      const expires = new Date(this.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return this.send(res, 201, { token, expires_at: expires, permissions: { pull_requests: 'read' } });
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/files$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      if (!this.tokens.has(auth.replace(/^Bearer /, '')))
        return this.send(res, 401, { message: 'Bad credentials' });
      if (this.fail.files) return this.send(res, this.fail.files, { message: 'failure' });
      const all = this.files.get(`${m[1]}/${m[2]}#${m[3]}`);
      if (!all) return this.send(res, 404, { message: 'Not Found' });
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
      const page = Number(url.searchParams.get('page') ?? 1);
      const capped = all.slice(0, 3000);
      const last = Math.max(1, Math.ceil(capped.length / perPage));
      const slice = capped.slice((page - 1) * perPage, page * perPage);
      const link = (p: number, rel: string) =>
        `<${this.linkOrigin ?? this.url}${url.pathname}?per_page=${perPage}&page=${p}>; rel="${rel}"`;
      const links = page < last ? [link(page + 1, 'next'), link(last, 'last')] : [link(1, 'first')];
      return this.send(
        res,
        200,
        slice.map((filename) => ({
          sha: 'x',
          filename,
          status: 'modified',
          additions: 1,
          deletions: 0,
          changes: 1,
        })),
        { link: links.join(', ') },
      );
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      if (this.fail.installation) return this.send(res, this.fail.installation, { message: 'failure' });
      if (!(await this.appJwtOk(auth)))
        return this.send(res, 401, { message: 'A JSON web token could not be decoded' });
      const inst = this.installations.get(`${m[1]}/${m[2]}`.toLowerCase());
      if (!inst) return this.send(res, 404, { message: 'Not Found' });
      return this.send(res, 200, { ...inst, app_id: Number(this.appId), repository_selection: 'selected' });
    }
    this.send(res, 404, { message: 'Not Found' });
  }
}
