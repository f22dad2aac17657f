import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigFieldError, parseWith } from '../types.js';

export const WEBHOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type WebhookMethod = (typeof WEBHOOK_METHODS)[number];

/** Stored (normalised) configuration. Secrets: the header token only as a SHA-256, the signing secret as given. */
export interface WebhookConfig {
  webhook_path: string;
  methods: WebhookMethod[];
  authentication: 'none' | 'header_token' | 'signature';
  auth_header: string;
  token_sha256?: string;
  signing_secret?: string;
  response_format: 'json' | 'text' | 'html';
}

const methodList = z
  .array(
    z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(WEBHOOK_METHODS)),
  )
  .min(1, 'needs at least one method')
  .transform((l) => [...new Set(l)]);

/** Both key sets of contract.md §2: spec (allowed_methods, authentication, auth_token) and impl (methods, require_auth). */
const raw = z.object({
  webhook_path: z.string().max(512).optional(),
  allowed_methods: methodList.optional(),
  methods: methodList.optional(),
  authentication: z.enum(['none', 'header_token', 'query_param', 'signature']).optional(),
  require_auth: z.boolean().optional(),
  auth_token: z.string().optional(),
  auth_header: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name')
    .optional(),
  response_format: z.enum(['json', 'text', 'html']).default('json'),
});

const PATH_RE = /^(\/[A-Za-z0-9._~:@!$&'()*+,;=-]+)+$/;

/** `/webhook/{rest}` is served at `/api/v1/public/webhook/{rest}`; other paths get the `/webhook` prefix. */
export function normalisePath(p: string): string {
  let path = `/${p.trim()}`.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  if (!path.startsWith('/webhook/')) path = `/webhook${path === '/webhook' ? '' : path}`;
  return path;
}

export function parseWebhookConfig(input: Record<string, unknown>, workflowId: string): WebhookConfig {
  const c = parseWith(raw, input);
  const path = normalisePath(
    c.webhook_path && c.webhook_path.trim() !== '' ? c.webhook_path : `/webhook/${workflowId}`,
  );
  if (path === '/webhook' || !PATH_RE.test(path)) {
    throw new ConfigFieldError('webhook_path', `${JSON.stringify(c.webhook_path)} is not a usable URL path`);
  }
  let authentication = c.authentication ?? (c.require_auth ? 'header_token' : 'none');
  if (authentication === 'query_param') {
    throw new ConfigFieldError(
      'authentication',
      'query_param puts the secret in URLs, where proxies and logs keep it; use header_token or signature',
    );
  }
  if (c.require_auth === true && authentication === 'none') authentication = 'header_token';
  const out: WebhookConfig = {
    webhook_path: path,
    methods: c.allowed_methods ?? c.methods ?? ['POST'],
    authentication,
    auth_header: (c.auth_header ?? 'X-Webhook-Token').toLowerCase(),
    response_format: c.response_format,
  };
  if (authentication === 'header_token') {
    if (!c.auth_token || c.auth_token.length < 16) {
      throw new ConfigFieldError(
        'auth_token',
        'header_token authentication needs an auth_token of at least 16 characters',
      );
    }
    out.token_sha256 = createHash('sha256').update(c.auth_token, 'utf8').digest('hex');
  } else if (authentication === 'signature') {
    const secret = c.auth_token ?? '';
    const bytes = decodeSigningSecret(secret);
    if (!bytes || bytes.length < 16) {
      throw new ConfigFieldError(
        'auth_token',
        'signature authentication needs a Standard Webhooks secret: "whsec_" followed by base64 of at least 16 bytes',
      );
    }
    out.signing_secret = secret;
  }
  return out;
}

export function decodeSigningSecret(secret: string): Buffer | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : '';
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}
