-- Human-in-the-loop, correlated: waits registered by paused executions, and the lookback memory of
-- answers that satisfied no wait (src/hil, docs/hil.md). PostgreSQL 15 and PGlite.

CREATE TABLE hil_waits (
  id                 uuid PRIMARY KEY,
  execution_id       text NOT NULL,
  interaction_id     text NOT NULL,
  workflow_id        text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  -- The workflow's owner, copied for owner-scoped listing.
  user_id            text NOT NULL,
  kind               text NOT NULL,
  -- Dotted path into the event's trigger_data -> expected scalar; every entry must match.
  match              jsonb NOT NULL,
  -- open -> resuming (an answer was taken; its dispatch delivers the resume) -> satisfied | failed;
  -- open -> expired | cancelled.
  status             text NOT NULL
                     CHECK (status IN ('open', 'resuming', 'satisfied', 'expired', 'failed', 'cancelled')),
  expires_at         timestamptz NOT NULL,
  -- Events received before this instant are never answers (the question had not been asked yet).
  asked_at           timestamptz,
  -- Who answered: the event, the dispatch that delivers the resume, and how it was found.
  event_id           uuid,
  dispatch_id        uuid,
  source             text CHECK (source IN ('live', 'lookback')),
  -- lookback only: the dispatch that ran the answering event as a new execution.
  source_dispatch_id uuid,
  matched_at         timestamptz,
  closed_at          timestamptz,
  last_error_code    text,
  last_error         text,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  UNIQUE (execution_id, interaction_id)
);
-- Offering an event: the open waits of one workflow and kind, oldest first.
CREATE INDEX hil_waits_open_idx ON hil_waits (workflow_id, kind, created_at) WHERE status = 'open';
CREATE INDEX hil_waits_expiry_idx ON hil_waits (expires_at) WHERE status = 'open';
CREATE INDEX hil_waits_resuming_idx ON hil_waits (updated_at) WHERE status = 'resuming';
-- A dispatch resumes at most one wait; a retried dispatch finds its claim through this.
CREATE UNIQUE INDEX hil_waits_dispatch_uq ON hil_waits (dispatch_id) WHERE dispatch_id IS NOT NULL;
CREATE INDEX hil_waits_workflow_idx ON hil_waits (workflow_id, created_at DESC);
CREATE INDEX hil_waits_user_idx ON hil_waits (user_id, created_at DESC);

-- Correlated dispatches that satisfied no open wait, kept for HIL_LOOKBACK_SECONDS so that a wait
-- registered a moment later still finds its answer. The row also makes the dispatch's decision sticky
-- across retries (it runs as a new execution).
CREATE TABLE hil_lookback (
  dispatch_id uuid PRIMARY KEY REFERENCES dispatches (id) ON DELETE CASCADE,
  event_id    uuid NOT NULL,
  workflow_id text NOT NULL,
  kind        text NOT NULL,
  received_at timestamptz NOT NULL,
  offered_at  timestamptz NOT NULL,
  -- The wait that took this answer later (each answer satisfies one wait).
  wait_id     uuid
);
CREATE INDEX hil_lookback_find_idx ON hil_lookback (workflow_id, kind, offered_at) WHERE wait_id IS NULL;
CREATE INDEX hil_lookback_offered_idx ON hil_lookback (offered_at);
