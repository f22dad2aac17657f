-- Integration credentials (the design's oauth_tokens, adapted) and Slack's app_rate_limited notices.

-- One credential per user and provider. Tokens and secrets are stored only as AES-256-GCM ciphertext
-- (`gcm1:…`, written by src/integrations/crypto.ts); the CHECKs refuse anything else, so a bug can never
-- put a clear-text token in this table. credential_data holds non-secret facts (team id, scopes, …).
CREATE TABLE oauth_tokens (
  id                uuid PRIMARY KEY,
  user_id           text NOT NULL,
  provider          varchar(100) NOT NULL,
  -- The design's integration names: slack, github, google_calendar, imap.
  integration_id    varchar(255) NOT NULL,
  access_token_enc  text CHECK (access_token_enc IS NULL OR access_token_enc LIKE 'gcm1:%'),
  refresh_token_enc text CHECK (refresh_token_enc IS NULL OR refresh_token_enc LIKE 'gcm1:%'),
  -- Other secrets (an IMAP password, an id_token) as encrypted JSON.
  secrets_enc       text CHECK (secrets_enc IS NULL OR secrets_enc LIKE 'gcm1:%'),
  -- Which CREDENTIALS_KEY encrypted the row (a hash prefix of the key, not the key).
  key_id            text NOT NULL,
  token_type        text NOT NULL DEFAULT 'Bearer',
  scope             text,
  expires_at        timestamptz,
  credential_data   jsonb NOT NULL DEFAULT '{}'::jsonb,
  is_active         boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  UNIQUE (user_id, provider),
  CHECK (access_token_enc IS NOT NULL OR secrets_enc IS NOT NULL)
);
CREATE INDEX oauth_tokens_provider_idx ON oauth_tokens (provider, expires_at) WHERE is_active;

-- Slack tells an app it dropped events for a workspace (30,000 events/hour/workspace) with an
-- app_rate_limited callback; each is kept so operators can see which workspace lost events and when.
CREATE TABLE slack_rate_limit_notices (
  id                  uuid PRIMARY KEY,
  api_app_id          text NOT NULL,
  team_id             text NOT NULL,
  minute_rate_limited bigint NOT NULL,
  received_at         timestamptz NOT NULL,
  UNIQUE (api_app_id, team_id, minute_rate_limited)
);
CREATE INDEX slack_rate_limit_notices_received_idx ON slack_rate_limit_notices (received_at DESC);
