import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { iso, json, type Queryable, ts } from '../db/db.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { decodeCredentialsKey, decryptField, encryptField, keyId } from './crypto.js';
import './errors.js';

export const PROVIDERS = ['slack', 'github', 'google', 'imap'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The design's integration ids per provider (contract.md §6). */
const INTEGRATION_IDS: Record<Provider, string> = {
  slack: 'slack',
  github: 'github',
  google: 'google_calendar',
  imap: 'imap',
};

export interface CredentialInput {
  accessToken?: string | undefined;
  refreshToken?: string | undefined;
  secrets?: Record<string, unknown> | undefined;
  tokenType?: string | undefined;
  scope?: string | undefined;
  expiresAt?: string | null | undefined;
  credentialData?: Record<string, unknown> | undefined;
}

/** What the API shows: never a token or secret, only that they exist. */
export interface CredentialMetadata {
  provider: string;
  integration_id: string;
  user_id: string;
  token_type: string;
  scope: string | null;
  expires_at: string | null;
  credential_data: Record<string, unknown>;
  has_access_token: boolean;
  has_refresh_token: boolean;
  has_secrets: boolean;
  is_active: boolean;
  key_id: string;
  created_at: string;
  updated_at: string;
}

/** A decrypted credential, for kinds that call a provider for its owner. */
export interface Credential {
  userId: string;
  provider: Provider;
  accessToken: string | null;
  refreshToken: string | null;
  secrets: Record<string, unknown> | null;
  tokenType: string;
  scope: string | null;
  expiresAt: string | null;
  credentialData: Record<string, unknown>;
}

interface Row {
  user_id: string;
  provider: string;
  integration_id: string;
  access_token_enc: string | null;
  refresh_token_enc: string | null;
  secrets_enc: string | null;
  key_id: string;
  token_type: string;
  scope: string | null;
  expires_at: unknown;
  credential_data: Record<string, unknown>;
  is_active: boolean;
  created_at: unknown;
  updated_at: unknown;
}

const aad = (userId: string, provider: string, field: string) => `${userId}\u0000${provider}\u0000${field}`;

/**
 * Per-user provider credentials, encrypted at rest with CREDENTIALS_KEY. Without the key nothing is stored
 * (SCHED_CREDENTIALS_KEY_MISSING): a credential is never kept in clear text.
 */
export class CredentialStore {
  private readonly key: Buffer | undefined;

  constructor(private readonly deps: { db: Queryable; clock: Clock; credentialsKey: string | undefined }) {
    this.key = decodeCredentialsKey(deps.credentialsKey);
  }

  private requireKey(): Buffer {
    if (!this.key) throw new AppError('SCHED_CREDENTIALS_KEY_MISSING');
    return this.key;
  }

  async put(
    userId: string,
    provider: Provider,
    input: CredentialInput,
  ): Promise<{ created: boolean; metadata: CredentialMetadata }> {
    const key = this.requireKey();
    const enc = (field: string, v: string | undefined) =>
      v ? encryptField(key, v, aad(userId, provider, field)) : null;
    const now = ts(this.deps.clock.now());
    const r = await this.deps.db.query<Row & { inserted: boolean }>(
      `INSERT INTO oauth_tokens (id, user_id, provider, integration_id, access_token_enc, refresh_token_enc, secrets_enc,
         key_id, token_type, scope, expires_at, credential_data, is_active, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, true, $13, $13)
       ON CONFLICT (user_id, provider) DO UPDATE SET access_token_enc = EXCLUDED.access_token_enc,
         refresh_token_enc = EXCLUDED.refresh_token_enc, secrets_enc = EXCLUDED.secrets_enc, key_id = EXCLUDED.key_id,
         token_type = EXCLUDED.token_type, scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at,
         credential_data = EXCLUDED.credential_data, is_active = true, updated_at = EXCLUDED.updated_at
       RETURNING *, (xmax = 0) AS inserted`,
      [
        randomUUID(),
        userId,
        provider,
        INTEGRATION_IDS[provider],
        enc('access_token', input.accessToken),
        enc('refresh_token', input.refreshToken),
        input.secrets ? enc('secrets', JSON.stringify(input.secrets)) : null,
        keyId(key),
        input.tokenType ?? 'Bearer',
        input.scope ?? null,
        input.expiresAt ?? null,
        json(input.credentialData ?? {}),
        now,
      ],
    );
    const row = r.rows[0]!;
    return { created: row.inserted === true, metadata: toMetadata(row) };
  }

  async metadata(userId: string, provider?: Provider): Promise<CredentialMetadata[]> {
    const r = await this.deps.db.query<Row>(
      `SELECT * FROM oauth_tokens WHERE user_id = $1 AND ($2::text IS NULL OR provider = $2) ORDER BY provider`,
      [userId, provider ?? null],
    );
    return r.rows.map(toMetadata);
  }

  async delete(userId: string, provider: Provider): Promise<boolean> {
    const r = await this.deps.db.query('DELETE FROM oauth_tokens WHERE user_id = $1 AND provider = $2', [
      userId,
      provider,
    ]);
    return r.rowCount > 0;
  }

  /** The decrypted active credential, or null when none is stored. */
  async get(userId: string, provider: Provider): Promise<Credential | null> {
    const r = await this.deps.db.query<Row>(
      'SELECT * FROM oauth_tokens WHERE user_id = $1 AND provider = $2 AND is_active',
      [userId, provider],
    );
    const row = r.rows[0];
    if (!row) return null;
    const key = this.requireKey();
    const dec = (field: string, v: string | null) => {
      if (v === null) return null;
      try {
        return decryptField(key, v, aad(userId, provider, field));
      } catch {
        const rotated = row.key_id !== keyId(key);
        throw new AppError(
          'SCHED_CREDENTIALS_UNREADABLE',
          `the stored ${provider} credential cannot be decrypted${rotated ? ' (CREDENTIALS_KEY changed since it was stored)' : ''}; store it again`,
        );
      }
    };
    const secrets = dec('secrets', row.secrets_enc);
    return {
      userId,
      provider,
      accessToken: dec('access_token', row.access_token_enc),
      refreshToken: dec('refresh_token', row.refresh_token_enc),
      secrets: secrets === null ? null : (JSON.parse(secrets) as Record<string, unknown>),
      tokenType: row.token_type,
      scope: row.scope,
      expiresAt: iso(row.expires_at),
      credentialData: row.credential_data ?? {},
    };
  }
}

function toMetadata(row: Row): CredentialMetadata {
  return {
    provider: row.provider,
    integration_id: row.integration_id,
    user_id: row.user_id,
    token_type: row.token_type,
    scope: row.scope,
    expires_at: iso(row.expires_at),
    credential_data: row.credential_data ?? {},
    has_access_token: row.access_token_enc !== null,
    has_refresh_token: row.refresh_token_enc !== null,
    has_secrets: row.secrets_enc !== null,
    is_active: row.is_active,
    key_id: row.key_id,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

export function credentialStore(s: Pick<Services, 'db' | 'clock' | 'config'>): CredentialStore {
  return new CredentialStore({ db: s.db, clock: s.clock, credentialsKey: s.config.credentialsKey });
}

/**
 * The credential a user stored for a provider (decrypted), or null. For kinds that act for a workflow's
 * owner (Slack channel lookup, GitHub, Google, IMAP). Throws SCHED_CREDENTIALS_KEY_MISSING when a row
 * exists but no key is configured, SCHED_CREDENTIALS_UNREADABLE when the key no longer fits.
 */
export function getCredential(
  services: Pick<Services, 'db' | 'clock' | 'config'>,
  userId: string,
  provider: Provider,
): Promise<Credential | null> {
  return credentialStore(services).get(userId, provider);
}
