-- ToolsetRepository: toolsets, app_toolset_configs.
-- Times are UTC microseconds since the epoch; booleans are 0/1.

-- A user's toolsets. slug is unique per user, ASCII case-insensitively: the
-- journal reservation "toolset.slug" is the rule; slug_key (ascii_lower(slug))
-- is what lookups query, and its unique index is a second line of defence.
CREATE TABLE toolsets (
  org_id           TEXT NOT NULL,
  id               TEXT NOT NULL,
  user_id          TEXT NOT NULL,
  toolset_type     TEXT NOT NULL,
  slug             TEXT NOT NULL,
  slug_key         TEXT NOT NULL,
  description      TEXT,
  enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  sealed_api_key   TEXT,              -- Secrets::seal output; never plain text
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  version          INTEGER NOT NULL,  -- the stream version the row reflects
  created_position INTEGER NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX toolsets_user_slug ON toolsets (org_id, user_id, slug_key);
CREATE INDEX toolsets_user_created ON toolsets (org_id, user_id, created_at, created_position);
CREATE INDEX toolsets_user_type
  ON toolsets (org_id, user_id, toolset_type, created_at, created_position);

-- The org's switch for each toolset type (one row per type once it is set;
-- the repository supplies the builtin defaults of types never set).
CREATE TABLE app_toolset_configs (
  org_id       TEXT NOT NULL,
  toolset_type TEXT NOT NULL,
  enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  updated_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  version      INTEGER NOT NULL,
  PRIMARY KEY (org_id, toolset_type)
) STRICT;
