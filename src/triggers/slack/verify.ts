import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's window, checked in both directions (protocols.md §3.1; python-slack-sdk is symmetric). */
export const SLACK_TOLERANCE_S = 300;

export type SlackVerifyResult = { ok: true } | { ok: false; reason: string };

function first(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/**
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw body)>`, compared in
 * constant time over equal-length buffers, with the timestamp within 300 s of `nowMs`.
 */
export function verifySlackSignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  nowMs: number,
): SlackVerifyResult {
  const timestamp = first(headers['x-slack-request-timestamp']);
  const signature = first(headers['x-slack-signature']);
  if (!timestamp || !signature) return { ok: false, reason: 'signature headers missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'timestamp is not a number' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_TOLERANCE_S) {
    return { ok: false, reason: 'timestamp outside the 5 minute window' };
  }
  const m = /^v0=([0-9a-fA-F]{64})$/.exec(signature);
  if (!m?.[1]) return { ok: false, reason: 'not a v0 signature' };
  const got = Buffer.from(m[1], 'hex');
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest();
  return got.length === expected.length && timingSafeEqual(got, expected)
    ? { ok: true }
    : { ok: false, reason: 'signature mismatch' };
}

/** Signs like Slack (tests, the bench, local trials). */
export function signSlackRequest(secret: string, timestampS: number, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampS}:`).update(body).digest('hex')}`;
}
