import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, appError } from '../errors.js';
import { errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { credentialStore, PROVIDERS, type Provider } from './store.js';

const metadataSchema = {
  type: 'object',
  description: 'A stored credential without its secrets',
  properties: {
    provider: { type: 'string' },
    integration_id: { type: 'string' },
    user_id: { type: 'string' },
    token_type: { type: 'string' },
    scope: { type: ['string', 'null'] },
    expires_at: { type: ['string', 'null'] },
    credential_data: { type: 'object', additionalProperties: true },
    has_access_token: { type: 'boolean' },
    has_refresh_token: { type: 'boolean' },
    has_secrets: { type: 'boolean' },
    is_active: { type: 'boolean' },
    key_id: {
      type: 'string',
      description: 'Which CREDENTIALS_KEY encrypted it (a hash prefix, not the key)',
    },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const providerParam = {
  type: 'object',
  properties: { provider: { type: 'string', enum: [...PROVIDERS] } },
  required: ['provider'],
} as const;

const putBody = {
  type: 'object',
  properties: {
    access_token: { type: 'string', minLength: 1, maxLength: 8192 },
    refresh_token: { type: 'string', minLength: 1, maxLength: 8192 },
    token_type: { type: 'string', minLength: 1, maxLength: 50 },
    scope: { type: 'string', maxLength: 4000 },
    expires_at: { type: ['string', 'null'], format: 'date-time' },
    credential_data: {
      type: 'object',
      additionalProperties: true,
      description:
        'Non-secret facts (team_id, bot_user_id, app_id, installation_id, email …); stored in clear',
    },
    secrets: {
      type: 'object',
      additionalProperties: true,
      description: 'Other secrets (an IMAP password, an id_token); stored encrypted like the tokens',
    },
  },
  additionalProperties: false,
} as const;

interface PutBody {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  scope?: string;
  expires_at?: string | null;
  credential_data?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
}

// Keys that name a secret: refused in credential_data, which is stored and shown in clear.
const SECRET_KEY = /token|secret|password|passwd|private|api_?key|credential/i;

function actingUser(request: FastifyRequest): string {
  const userId = request.principal?.userId;
  if (!userId) {
    throw appError('SCHED_VALIDATION', 'credentials belong to a user: a service caller must send X-User-Id', {
      field: 'X-User-Id',
    });
  }
  return userId;
}

function findSecretKey(v: unknown, path: string, depth = 0): string | undefined {
  if (!v || typeof v !== 'object' || depth > 6) return undefined;
  for (const [k, child] of Object.entries(v)) {
    const p = `${path}.${k}`;
    if (SECRET_KEY.test(k)) return p;
    const inner = findSecretKey(child, p, depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

/** PUT/GET/DELETE /api/v1/integrations/{provider}: a user's (or, for a service caller, X-User-Id's) credentials. */
export function registerIntegrationRoutes(app: FastifyInstance, s: Services): void {
  const store = credentialStore(s);
  const tags = ['integrations'];

  app.get(
    '/api/v1/integrations',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags,
        summary: "List the acting user's stored integration credentials (metadata only)",
        response: {
          200: { type: 'object', properties: { integrations: { type: 'array', items: metadataSchema } } },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => ({ integrations: await store.metadata(actingUser(request)) }),
  );

  app.put<{ Params: { provider: Provider }; Body: PutBody }>(
    '/api/v1/integrations/:provider',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags,
        summary: 'Store (or replace) the acting user’s credential for a provider',
        description:
          'Tokens and secrets are encrypted with AES-256-GCM (CREDENTIALS_KEY) before they reach the database and ' +
          'are never returned. 201 when created, 200 when replaced; 503 SCHED_CREDENTIALS_KEY_MISSING without a key.',
        params: providerParam,
        body: putBody,
        response: { 200: metadataSchema, 201: metadataSchema, ...errorResponses(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const userId = actingUser(request);
      const { provider } = request.params;
      const b = request.body ?? {};
      if (!b.access_token && !(b.secrets && Object.keys(b.secrets).length > 0)) {
        throw appError(
          'SCHED_VALIDATION',
          'body.access_token is required (or secrets, for providers without a token)',
          {
            field: 'body.access_token',
          },
        );
      }
      if (provider === 'slack' && !b.access_token) {
        throw appError('SCHED_VALIDATION', 'body.access_token (the Slack bot token, xoxb-…) is required', {
          field: 'body.access_token',
        });
      }
      const secretField = findSecretKey(b.credential_data, 'body.credential_data');
      if (secretField) {
        throw appError(
          'SCHED_VALIDATION',
          `${secretField} looks like a secret; send it in secrets (encrypted)`,
          {
            field: secretField,
          },
        );
      }
      const out = await store.put(userId, provider, {
        accessToken: b.access_token,
        refreshToken: b.refresh_token,
        secrets: b.secrets,
        tokenType: b.token_type,
        scope: b.scope,
        expiresAt: b.expires_at ?? null,
        credentialData: b.credential_data,
      });
      return reply.code(out.created ? 201 : 200).send(out.metadata);
    },
  );

  app.get<{ Params: { provider: Provider } }>(
    '/api/v1/integrations/:provider',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags,
        summary: 'The acting user’s credential for a provider, without its secrets',
        params: providerParam,
        response: { 200: metadataSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const [m] = await store.metadata(actingUser(request), request.params.provider);
      if (!m)
        throw new AppError(
          'SCHED_INTEGRATION_NOT_FOUND',
          `no ${request.params.provider} credential is stored`,
        );
      return m;
    },
  );

  app.delete<{ Params: { provider: Provider } }>(
    '/api/v1/integrations/:provider',
    {
      preHandler: s.auth.preHandler,
      schema: {
        tags,
        summary: 'Remove the acting user’s credential for a provider',
        description:
          'Deployed triggers keep what they resolved; a later deploy that needs the credential fails.',
        params: providerParam,
        response: {
          200: { type: 'object', properties: { provider: { type: 'string' }, deleted: { type: 'boolean' } } },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { provider } = request.params;
      if (!(await store.delete(actingUser(request), provider))) {
        throw new AppError('SCHED_INTEGRATION_NOT_FOUND', `no ${provider} credential is stored`);
      }
      return { provider, deleted: true };
    },
  );
}
