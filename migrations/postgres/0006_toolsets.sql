-- ToolsetRepository: toolsets, app_toolset_configs.
-- Times are UTC microseconds since the epoch.

-- A user's toolsets. slug is unique per user, ASCII case-insensitively: the
-- journal reservation "toolset.slug" is the rule; slug_key (ascii_lower(slug))
-- is what lookups query, and its unique index is a second line of defence.
CREATE TABLE annals.toolsets (
  org_id           TEXT COLLATE "C" NOT NULL,
  id               TEXT COLLATE "C" NOT NULL,
  user_id          TEXT COLLATE "C" NOT NULL,
  toolset_type     TEXT COLLATE "C" NOT NULL,
  slug             TEXT COLLATE "C" NOT NULL,
  slug_key         TEXT COLLATE "C" NOT NULL,
  description      TEXT,
  enabled          BOOLEAN NOT NULL,
  sealed_api_key   TEXT,             -- Secrets::seal output; never plain text
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  version          BIGINT NOT NULL,  -- the stream version the row reflects
  created_position BIGINT NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX toolsets_user_slug ON annals.toolsets (org_id, user_id, slug_key);
CREATE INDEX toolsets_user_created
  ON annals.toolsets (org_id, user_id, created_at, created_position);
CREATE INDEX toolsets_user_type
  ON annals.toolsets (org_id, user_id, toolset_type, created_at, created_position);

-- @org_isolated annals.toolsets

-- The org's switch for each toolset type (one row per type once it is set;
-- the repository supplies the builtin defaults of types never set).
CREATE TABLE annals.app_toolset_configs (
  org_id       TEXT COLLATE "C" NOT NULL,
  toolset_type TEXT COLLATE "C" NOT NULL,
  enabled      BOOLEAN NOT NULL,
  updated_by   TEXT COLLATE "C" NOT NULL,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  version      BIGINT NOT NULL,
  PRIMARY KEY (org_id, toolset_type)
);

-- @org_isolated annals.app_toolset_configs
