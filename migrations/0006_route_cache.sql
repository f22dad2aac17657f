-- Routing keeps the triggers it looked up by index key in memory (src/pipeline/routeCache.ts). This counter
-- moves with every change to trigger_index, in the changing transaction; the inbox write inserts nothing
-- unless the counter still holds the value the cached routing was read at, so a replica never routes by
-- triggers that another replica has changed since. PostgreSQL 15 and PGlite.

CREATE TABLE trigger_index_version (
  id      boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL
);
INSERT INTO trigger_index_version (id, version) VALUES (true, 1);

CREATE FUNCTION trigger_index_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE trigger_index_version SET version = version + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER trigger_index_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trigger_index
  FOR EACH STATEMENT EXECUTE FUNCTION trigger_index_bump_version();
