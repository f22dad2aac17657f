import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Field encryption for stored credentials: AES-256-GCM with a random 96-bit IV per value. The additional
 * authenticated data binds a ciphertext to its row and column (user, provider, field), so a value copied
 * into another user's row does not decrypt. Stored as `gcm1:<iv>:<tag>:<ciphertext>` (base64url).
 */
export const CIPHER_PREFIX = 'gcm1';

/** CREDENTIALS_KEY (validated by config.ts): 64 hex characters or base64/base64url of 32 bytes. */
export function decodeCredentialsKey(value: string | undefined): Buffer | undefined {
  if (!value) return undefined;
  const v = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  return key.length === 32 ? key : undefined;
}

/** A short, non-secret name of the key, stored with each row so a key change is recognised as such. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('wfsched-credentials-key:').update(key).digest('hex').slice(0, 16);
}

export function encryptField(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [CIPHER_PREFIX, iv, tag, ct]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join(':');
}

/** Throws when the value was not produced by encryptField with this key and aad. */
export function decryptField(key: Buffer, stored: string, aad: string): string {
  const [prefix, iv, tag, ct] = stored.split(':');
  if (prefix !== CIPHER_PREFIX || !iv || !tag || ct === undefined) throw new Error('not an encrypted value');
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  // A full-length tag is required: GCM would otherwise accept truncated tags, which are forgeable.
  if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error('malformed encrypted value');
  const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
