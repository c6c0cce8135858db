-- Settings: one row per (org, key). Times are UTC microseconds since the epoch.
-- Text columns use the "C" collation: byte order, as SQLite sorts.
CREATE TABLE annals.settings (
  org_id     TEXT COLLATE "C" NOT NULL,
  key        TEXT COLLATE "C" NOT NULL,
  value      TEXT NOT NULL,
  value_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version    BIGINT NOT NULL,  -- the stream version the row reflects
  PRIMARY KEY (org_id, key)
);

ALTER TABLE annals.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE annals.settings FORCE ROW LEVEL SECURITY;
-- The scalar subquery is evaluated once per statement, not once per row.
CREATE POLICY org_isolation ON annals.settings
  USING (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')))
  WITH CHECK (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')));

GRANT SELECT ON annals.settings TO annals_query;
GRANT SELECT, INSERT, UPDATE, DELETE ON annals.settings TO annals_projector;
