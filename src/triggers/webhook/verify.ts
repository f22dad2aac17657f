import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { decodeSigningSecret, type WebhookConfig } from './config.js';

/** Standard Webhooks (standardwebhooks.com): the signed content is `${id}.${timestamp}.${body}`. */
export const SIGNATURE_TOLERANCE_S = 300;

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verifyWebhookAuth(
  config: WebhookConfig,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  nowMs: number,
): VerifyResult {
  switch (config.authentication) {
    case 'none':
      return { ok: true };
    case 'header_token':
      return verifyToken(config, headers);
    case 'signature':
      return verifySignature(config, headers, rawBody, nowMs);
    default: {
      const never: never = config.authentication;
      return { ok: false, reason: `unknown authentication ${String(never)}` };
    }
  }
}

function first(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function verifyToken(
  config: WebhookConfig,
  headers: Record<string, string | string[] | undefined>,
): VerifyResult {
  let token = first(headers[config.auth_header]);
  if (token === undefined) {
    const auth = first(headers.authorization);
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    token = m?.[1];
  }
  if (!token || !config.token_sha256) return { ok: false, reason: 'token missing' };
  // Comparing digests keeps the comparison constant-time and the lengths equal whatever was sent.
  const got = createHash('sha256').update(token, 'utf8').digest();
  const want = Buffer.from(config.token_sha256, 'hex');
  return timingSafeEqual(got, want) ? { ok: true } : { ok: false, reason: 'token mismatch' };
}

function verifySignature(
  config: WebhookConfig,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  nowMs: number,
): VerifyResult {
  const id = first(headers['webhook-id']);
  const timestamp = first(headers['webhook-timestamp']);
  const signatures = first(headers['webhook-signature']);
  if (!id || !timestamp || !signatures)
    return { ok: false, reason: 'webhook-id, webhook-timestamp and webhook-signature are required' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not a number' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_S) {
    return { ok: false, reason: 'webhook-timestamp outside the 5 minute window' };
  }
  const key = decodeSigningSecret(config.signing_secret ?? '');
  if (!key) return { ok: false, reason: 'no signing secret' };
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  for (const part of signatures.split(' ')) {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    const got = Buffer.from(sig, 'base64');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return { ok: true };
  }
  return { ok: false, reason: 'no matching v1 signature' };
}

/** Signs like a Standard Webhooks sender (used by tests, the bench and the README's example). */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestampS: number,
  body: string | Buffer,
): string {
  const key = decodeSigningSecret(secret);
  if (!key) throw new Error('not a whsec_ secret');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.`).update(body).digest('base64')}`;
}
