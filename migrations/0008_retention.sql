-- Retention (EVENT_RETENTION_DAYS, src/maintenance.ts): old events are deleted with their dispatches.
-- Each deleted event sets github_webhook_events.event_id to NULL (ON DELETE SET NULL); without an index
-- that is a scan of the whole delivery table per event. PostgreSQL 15 and PGlite.

CREATE INDEX github_webhook_events_event_idx ON github_webhook_events (event_id);

-- Closed human-in-the-loop waits are deleted after the same retention, oldest first.
CREATE INDEX hil_waits_closed_idx ON hil_waits (updated_at)
  WHERE status IN ('satisfied', 'expired', 'failed', 'cancelled');
