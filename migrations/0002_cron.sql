-- CRON scheduler state (src/triggers/cron). Rows are keyed by (workflow_id, node_id), not by trigger id, so
-- the fire history and the last fired time survive redeploys, and stay readable after an undeploy.

-- One row per nominal fire instant of a schedule. The primary key is the claim: a replica that inserts
-- the row owns that tick, a second insert is a no-op (INSERT … ON CONFLICT DO NOTHING), so several
-- replicas on one database fire each tick exactly once. Missed and skipped ticks get a row too, with why.
CREATE TABLE cron_fires (
  workflow_id     text NOT NULL,
  node_id         text NOT NULL,
  -- The schedule's instant: the identity of the fire (idempotency key, scheduled_time).
  nominal_at      timestamptz NOT NULL,
  -- nominal + jitter; for a catch-up fire, when the catch-up was decided.
  effective_at    timestamptz NOT NULL,
  -- The schedule's next nominal instant after this row was written, and its jittered instant: a restart
  -- puts the schedule back in the loop without any cron math.
  next_nominal_at timestamptz,
  next_effective_at timestamptz,
  source          text NOT NULL DEFAULT 'schedule' CHECK (source IN ('schedule', 'catchup', 'run_now')),
  -- claimed: owned by claimed_by until lease_until, being stored as an event; any replica takes over
  -- an expired claim. fired: the event is stored (event_id). missed / skipped / dropped: see reason.
  outcome         text NOT NULL CHECK (outcome IN ('claimed', 'fired', 'missed', 'skipped', 'dropped')),
  reason          text,
  recorded_at     timestamptz NOT NULL,
  claimed_by      text,
  lease_until     timestamptz,
  fired_at        timestamptz,
  event_id        uuid,
  PRIMARY KEY (workflow_id, node_id, nominal_at)
);
CREATE INDEX cron_fires_orphan_idx ON cron_fires (lease_until) WHERE outcome = 'claimed';
CREATE INDEX cron_fires_recorded_idx ON cron_fires (recorded_at);

-- Where a schedule starts counting (deploy, resume or change of its definition) and its first nominal
-- instant from there; written once per definition, never per fire.
CREATE TABLE cron_schedules (
  workflow_id     text NOT NULL,
  node_id         text NOT NULL,
  -- expression, zone and DST policy the row was computed for
  spec            text NOT NULL,
  since_at        timestamptz NOT NULL,
  next_nominal_at timestamptz,
  next_effective_at timestamptz,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workflow_id, node_id)
);

-- Pause and resume of single triggers (any kind), with the caller's note.
CREATE TABLE trigger_pause_log (
  id          uuid PRIMARY KEY,
  workflow_id text NOT NULL,
  node_id     text NOT NULL,
  action      text NOT NULL CHECK (action IN ('pause', 'resume')),
  note        text,
  actor       text,
  at          timestamptz NOT NULL
);
CREATE INDEX trigger_pause_log_trigger_idx ON trigger_pause_log (workflow_id, node_id, at DESC);
