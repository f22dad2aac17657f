import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../../clock.js';
import { GithubApiError, type GithubHttp } from './http.js';

const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * GitHub App credentials: an RS256 App JWT (iat 60 s in the past for clock drift, exp 9 min ahead,
 * reused for 8 min) and installation access tokens, cached per installation until 5 minutes before
 * they expire, one mint at a time per installation in this process. Tokens are never stored or logged.
 */
export class AppAuth {
  private key: KeyObject | undefined;
  private jwt: { value: string; until: number } | undefined;
  private readonly tokens = new Map<number, { token: string; until: number }>();
  private readonly minting = new Map<number, Promise<string>>();

  constructor(
    private readonly http: GithubHttp,
    private readonly appId: string | undefined,
    private readonly privateKey: string | undefined,
    private readonly clock: Clock,
  ) {}

  get configured(): boolean {
    return Boolean(this.appId && this.privateKey);
  }

  async appJwt(): Promise<string> {
    const now = this.clock.now();
    if (this.jwt && this.jwt.until > now) return this.jwt.value;
    if (!this.appId || !this.privateKey)
      throw new GithubApiError(
        'SCHED_GITHUB_APP_NOT_CONFIGURED',
        'GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are not set',
      );
    if (!this.key) {
      try {
        // Reads both PKCS#1 (what GitHub hands out) and PKCS#8 PEM.
        this.key = createPrivateKey(this.privateKey);
      } catch {
        throw new GithubApiError(
          'SCHED_GITHUB_APP_NOT_CONFIGURED',
          'GITHUB_APP_PRIVATE_KEY is not a PEM private key',
        );
      }
    }
    const iat = Math.floor(now / 1000) - 60;
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.appId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(this.key);
    this.jwt = { value, until: now + 8 * 60_000 };
    return value;
  }

  /** An installation access token, from the cache unless it expires within 5 minutes. */
  async installationToken(installationId: number, deadline?: number): Promise<string> {
    const cached = this.tokens.get(installationId);
    if (cached && cached.until > this.clock.now()) return cached.token;
    let pending = this.minting.get(installationId);
    if (!pending) {
      pending = this.mint(installationId, deadline).finally(() => this.minting.delete(installationId));
      this.minting.set(installationId, pending);
    }
    return pending;
  }

  /** Drops a token GitHub refused (revoked), so the next use mints a new one. */
  forget(installationId: number): void {
    this.tokens.delete(installationId);
  }

  private async mint(installationId: number, deadline?: number): Promise<string> {
    const path = `/app/installations/${installationId}/access_tokens`;
    const res = await this.http.call('POST', path, await this.appJwt(), deadline);
    const body = (await res.json().catch(() => null)) as { token?: unknown; expires_at?: unknown } | null;
    if (typeof body?.token !== 'string' || body.token === '')
      throw new GithubApiError(
        'SCHED_GITHUB_API_ERROR',
        'access_tokens answered without a token',
        res.status,
      );
    const expires = typeof body.expires_at === 'string' ? Date.parse(body.expires_at) : Number.NaN;
    const until =
      (Number.isFinite(expires) ? expires : this.clock.now() + 3_600_000) - TOKEN_REFRESH_MARGIN_MS;
    this.tokens.set(installationId, { token: body.token, until });
    return body.token;
  }
}
