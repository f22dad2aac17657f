import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Config } from '../config.js';
import { appError } from '../errors.js';

/**
 * Who is calling. A service caller (SCHEDULER_API_KEY, e.g. the API gateway) may act for a user named in
 * X-User-Id; a user (JWT) always acts as itself. `userId` null means "every user" (service caller or open
 * mode without X-User-Id).
 */
export interface Principal {
  kind: 'service' | 'user' | 'open';
  userId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface Authenticator {
  readonly mode: 'open' | 'secured';
  authenticate(request: FastifyRequest): Promise<Principal>;
  /** Fastify preHandler: sets request.principal or answers 401. */
  preHandler(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

const USER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.@:|-]{0,127}$/;
const CLOCK_TOLERANCE_S = 30;

export function createAuthenticator(config: Config['auth']): Authenticator {
  const apiKeyHash = config.apiKey ? sha256(config.apiKey) : undefined;
  const hsKey = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
    : undefined;

  function actingUser(request: FastifyRequest): string | null {
    const raw = request.headers['x-user-id'];
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined || v === '') return null;
    if (!USER_ID_RE.test(v))
      throw appError('SCHED_VALIDATION', 'X-User-Id is not a valid user id', { field: 'X-User-Id' });
    return v;
  }

  async function verifyJwt(token: string): Promise<JWTPayload> {
    const common = {
      ...(config.issuer ? { issuer: config.issuer } : {}),
      ...(config.audience ? { audience: config.audience } : {}),
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['sub', 'exp'],
    };
    // Algorithms are pinned per key source; the token's own `alg` never chooses the key type (RFC 8725).
    let lastError: unknown;
    if (hsKey) {
      try {
        return (await jwtVerify(token, hsKey, { ...common, algorithms: ['HS256'] })).payload;
      } catch (err) {
        lastError = err;
      }
    }
    if (jwks) {
      try {
        return (await jwtVerify(token, jwks, { ...common, algorithms: config.jwksAlgorithms })).payload;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error('no JWT key configured');
  }

  const authenticator: Authenticator = {
    mode: config.configured ? 'secured' : 'open',
    async authenticate(request) {
      if (!config.configured) return { kind: 'open', userId: actingUser(request) };
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match?.[1]) {
        throw appError('SCHED_UNAUTHORIZED', 'Authorization: Bearer <token> is required', undefined, {
          headers: { 'www-authenticate': 'Bearer' },
        });
      }
      const token = match[1];
      if (apiKeyHash && timingSafeEqual(sha256(token), apiKeyHash)) {
        return { kind: 'service', userId: actingUser(request) };
      }
      if (hsKey || jwks) {
        try {
          const claims = await verifyJwt(token);
          const sub = claims.sub;
          if (typeof sub !== 'string' || !USER_ID_RE.test(sub)) throw new Error('sub is not a user id');
          // Supabase's anon and service_role keys are JWTs too; only end users are users.
          const role = (claims as { role?: unknown }).role;
          if (role !== undefined && role !== 'authenticated')
            throw new Error(`role ${String(role)} is not a user`);
          return { kind: 'user', userId: sub };
        } catch {
          // Fall through: one opaque answer for every reason (protocols.md §10).
        }
      }
      throw appError('SCHED_UNAUTHORIZED', 'the bearer token is not valid', undefined, {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    },
    async preHandler(request) {
      request.principal = await authenticator.authenticate(request);
    },
  };
  return authenticator;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The user id queries are scoped to: undefined = all users. */
export function scopeOf(p: Principal | undefined): string | undefined {
  return p?.userId ?? undefined;
}
