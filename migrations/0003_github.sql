-- GITHUB triggers: every webhook delivery, and the App's installations (kept current by installation events).

-- One row per delivery (X-GitHub-Delivery), written in the transaction that stores its event and dispatches.
-- A redelivery carries the same id: the unique constraint is what makes it a no-op.
CREATE TABLE github_webhook_events (
  id                   uuid PRIMARY KEY,
  delivery_id          text NOT NULL UNIQUE,
  event_type           text NOT NULL,
  action               text,
  installation_id      bigint,
  repository_id        bigint,
  repository_full_name text,
  -- The pipeline event (routing record, dispatches); kept when old events are purged.
  event_id             uuid REFERENCES events (id) ON DELETE SET NULL,
  payload              jsonb NOT NULL,
  processed_at         timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX github_webhook_events_created_idx ON github_webhook_events (created_at DESC);
CREATE INDEX github_webhook_events_repo_idx ON github_webhook_events (lower(repository_full_name), created_at DESC);

-- Installations of the GitHub App, so deploys resolve a repository's installation without asking the user.
CREATE TABLE github_installations (
  id                   uuid PRIMARY KEY,
  installation_id      bigint NOT NULL UNIQUE,
  user_id              text,
  account_id           bigint NOT NULL,
  account_login        text NOT NULL,
  account_type         text,
  -- 'all' (every repository of the account) or 'selected' (those in repositories).
  repository_selection text,
  -- [{id, full_name, private}]
  repositories         jsonb NOT NULL DEFAULT '[]'::jsonb,
  permissions          jsonb NOT NULL DEFAULT '{}'::jsonb,
  suspended_at         timestamptz,
  deleted_at           timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX github_installations_account_idx ON github_installations (lower(account_login));
