-- A cron tick is written ahead of its instant (CRON_LOOKAHEAD_MS) so that the durable writes are done when
-- the instant comes. Its dispatch carries that instant in not_before: no dispatcher calls the engine
-- earlier, and at the instant the first attempt checks that the trigger is still deployed and enabled;
-- a tick whose trigger was paused or undeployed in between ends 'cancelled' without an engine call.
-- PostgreSQL 15 and PGlite.

ALTER TABLE dispatches ADD COLUMN not_before timestamptz;
ALTER TABLE dispatches DROP CONSTRAINT dispatches_status_check;
ALTER TABLE dispatches ADD CONSTRAINT dispatches_status_check
  CHECK (status IN ('pending', 'in_flight', 'succeeded', 'dead', 'cancelled'));
