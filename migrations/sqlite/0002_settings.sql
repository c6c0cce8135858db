-- Settings: one row per (org, key). Times are UTC microseconds since the epoch.
CREATE TABLE settings (
  org_id     TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  value_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version    INTEGER NOT NULL,  -- the stream version the row reflects
  PRIMARY KEY (org_id, key)
) STRICT;
