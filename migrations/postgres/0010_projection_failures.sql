-- A projection that fails on an event (a bug, a constraint, data it cannot
-- hold) stops there: its checkpoint stays just before the failing command,
-- and this row says where and why, until `annals replay` runs it again. The
-- other projections carry on. Written in the same transaction as the
-- checkpoints; holds no org's data.
CREATE TABLE annals_meta.projection_failures (
  projection TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  position   BIGINT NOT NULL CHECK (position > 0),
  error      TEXT NOT NULL
);
GRANT SELECT ON annals_meta.projection_failures TO annals_query;
GRANT SELECT, INSERT, UPDATE, DELETE ON annals_meta.projection_failures TO annals_projector;
