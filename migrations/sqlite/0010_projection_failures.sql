-- A projection that fails on an event (a bug, a constraint, data it cannot
-- hold) stops there: its checkpoint stays just before the failing command,
-- and this row says where and why, until `annals replay` runs it again. The
-- other projections carry on. Written in the same transaction as the
-- checkpoints.
CREATE TABLE projection_failures (
  projection TEXT NOT NULL PRIMARY KEY,
  position   INTEGER NOT NULL CHECK (position > 0),
  error      TEXT NOT NULL
) STRICT;
