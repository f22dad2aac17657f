-- Workflows, their deployment history, the trigger index, the event inbox and the dispatch outbox.
-- Written for PostgreSQL 15 (the oldest server we support); PGlite runs the same file.

CREATE TABLE workflows (
  id                text PRIMARY KEY,
  user_id           text NOT NULL,
  name              text NOT NULL DEFAULT '',
  -- The latest submitted specification (what a deploy without a body deploys).
  spec              jsonb NOT NULL,
  deployment_status text NOT NULL DEFAULT 'UNDEPLOYED'
                    CHECK (deployment_status IN ('UNDEPLOYED', 'DEPLOYING', 'DEPLOYED', 'DEPLOYMENT_FAILED')),
  -- Incremented by every successful deploy; active_version is the version whose triggers are live.
  version           integer NOT NULL DEFAULT 0,
  active_version    integer,
  last_error_code   text,
  last_error        text,
  deployed_at       timestamptz,
  deployed_by       text,
  undeployed_at     timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_user_idx ON workflows (user_id, updated_at DESC);
CREATE INDEX workflows_status_idx ON workflows (deployment_status);

CREATE TABLE workflow_deployment_history (
  id                 uuid PRIMARY KEY,
  seq                bigint GENERATED ALWAYS AS IDENTITY,
  workflow_id        text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  deployment_action  text NOT NULL
                     CHECK (deployment_action ~ '^(DEPLOY|UNDEPLOY|UPDATE|ROLLBACK)(_STARTED|_COMPLETED|_FAILED)?$'),
  from_status        text,
  to_status          text,
  deployment_version integer,
  deployment_config  jsonb,
  triggered_by       text,
  started_at         timestamptz NOT NULL DEFAULT now(),
  completed_at       timestamptz,
  error_code         text,
  error_message      text,
  deployment_logs    jsonb
);
CREATE INDEX workflow_deployment_history_workflow_idx ON workflow_deployment_history (workflow_id, seq DESC);

CREATE TABLE trigger_index (
  id                uuid PRIMARY KEY,
  workflow_id       text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  trigger_node_id   text NOT NULL,
  trigger_type      text NOT NULL DEFAULT 'TRIGGER' CHECK (trigger_type = 'TRIGGER'),
  trigger_subtype   varchar(100) NOT NULL
                    CHECK (trigger_subtype IN ('CRON', 'MANUAL', 'WEBHOOK', 'EMAIL', 'GITHUB', 'SLACK', 'GOOGLE_CALENDAR')),
  -- The normalised configuration (both key variants folded into one form at deploy).
  trigger_config    jsonb NOT NULL,
  index_key         text NOT NULL DEFAULT '',
  deployment_status text NOT NULL DEFAULT 'active'
                    CHECK (deployment_status IN ('active', 'inactive', 'pending', 'failed')),
  enabled           boolean NOT NULL DEFAULT true,
  -- What an event does when an execution of the workflow waits for a human (never | latest | correlated).
  resume_mode       text NOT NULL DEFAULT 'never' CHECK (resume_mode IN ('never', 'latest', 'correlated')),
  workflow_version  integer NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workflow_id, trigger_node_id)
);
CREATE INDEX trigger_index_type_idx ON trigger_index (trigger_type);
CREATE INDEX trigger_index_status_idx ON trigger_index (deployment_status);
CREATE INDEX trigger_index_type_key_idx ON trigger_index (trigger_type, index_key) WHERE index_key IS NOT NULL;
CREATE INDEX trigger_index_type_key_status_idx ON trigger_index (trigger_type, index_key, deployment_status);
-- Phase one of routing: the coarse key lookup per kind.
CREATE INDEX trigger_index_route_idx ON trigger_index (trigger_subtype, index_key);
-- A webhook path belongs to one workflow.
CREATE UNIQUE INDEX trigger_index_webhook_path_uq ON trigger_index (index_key) WHERE trigger_subtype = 'WEBHOOK';

-- The event inbox: every accepted event, stored before it is acknowledged.
CREATE TABLE events (
  id              uuid PRIMARY KEY,
  kind            text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  index_key       text,
  payload         jsonb NOT NULL,
  -- Routing decisions and notes (why a trigger did or did not match).
  meta            jsonb NOT NULL DEFAULT '{}'::jsonb,
  received_at     timestamptz NOT NULL,
  matched_count   integer NOT NULL DEFAULT 0
);
CREATE INDEX events_kind_received_idx ON events (kind, received_at DESC);
CREATE INDEX events_received_idx ON events (received_at DESC);

-- The dispatch outbox: one row per (event, workflow, trigger node) to deliver to the engine.
CREATE TABLE dispatches (
  id              uuid PRIMARY KEY,
  event_id        uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  workflow_id     text NOT NULL,
  trigger_node_id text NOT NULL,
  kind            text NOT NULL,
  user_id         text NOT NULL,
  -- Per-trigger additions to the event's trigger_data.
  trigger_data    jsonb NOT NULL DEFAULT '{}'::jsonb,
  resume_mode     text NOT NULL DEFAULT 'never' CHECK (resume_mode IN ('never', 'latest', 'correlated')),
  status          text NOT NULL CHECK (status IN ('pending', 'in_flight', 'succeeded', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_until     timestamptz,
  claim_token     uuid,
  last_error_code text,
  last_error      text,
  last_http_status integer,
  execution_id    text,
  resumed         boolean NOT NULL DEFAULT false,
  resume_outcome  text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  completed_at    timestamptz,
  UNIQUE (event_id, workflow_id, trigger_node_id)
);
CREATE INDEX dispatches_due_idx ON dispatches (next_attempt_at) WHERE status = 'pending';
CREATE INDEX dispatches_lease_idx ON dispatches (lease_until) WHERE status = 'in_flight';
CREATE INDEX dispatches_workflow_idx ON dispatches (workflow_id, created_at DESC);
CREATE INDEX dispatches_dead_idx ON dispatches (updated_at DESC) WHERE status = 'dead';
CREATE INDEX dispatches_user_idx ON dispatches (user_id, created_at DESC);
