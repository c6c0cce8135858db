-- McpRepository: mcp_servers, mcps.
-- Times are UTC microseconds since the epoch.

-- The admin-managed allow-list of MCP servers. url is stored trimmed and is
-- unique per org, ASCII case-insensitively: the journal reservation
-- "mcp_server.url" is the rule; url_key (ascii_lower(trim(url))) is what
-- lookups query, and its unique index is a second line of defence.
CREATE TABLE annals.mcp_servers (
  org_id           TEXT COLLATE "C" NOT NULL,
  id               TEXT COLLATE "C" NOT NULL,
  url              TEXT COLLATE "C" NOT NULL,
  url_key          TEXT COLLATE "C" NOT NULL,
  name             TEXT COLLATE "C" NOT NULL,
  description      TEXT,
  enabled          BOOLEAN NOT NULL,
  created_by       TEXT COLLATE "C" NOT NULL,
  updated_by       TEXT COLLATE "C" NOT NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  version          BIGINT NOT NULL,  -- the stream version the row reflects
  created_position BIGINT NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX mcp_servers_url ON annals.mcp_servers (org_id, url_key);
CREATE INDEX mcp_servers_created ON annals.mcp_servers (org_id, created_at, created_position);

-- @org_isolated annals.mcp_servers

-- A user's instances of a server. slug is unique per user, ASCII
-- case-insensitively (reservation "mcp.slug"; slug_key as for toolsets).
CREATE TABLE annals.mcps (
  org_id           TEXT COLLATE "C" NOT NULL,
  id               TEXT COLLATE "C" NOT NULL,
  created_by       TEXT COLLATE "C" NOT NULL,
  mcp_server_id    TEXT COLLATE "C" NOT NULL,
  name             TEXT COLLATE "C" NOT NULL,
  slug             TEXT COLLATE "C" NOT NULL,
  slug_key         TEXT COLLATE "C" NOT NULL,
  description      TEXT,
  enabled          BOOLEAN NOT NULL,
  tools_cache      TEXT,             -- JSON, as given
  tools_filter     TEXT,             -- JSON, as given
  auth_type        TEXT NOT NULL CHECK (auth_type IN ('public', 'header', 'oauth')),
  auth_uuid        TEXT COLLATE "C",
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  version          BIGINT NOT NULL,
  created_position BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX mcps_user_slug ON annals.mcps (org_id, created_by, slug_key);
CREATE INDEX mcps_user_created ON annals.mcps (org_id, created_by, created_at, created_position);
CREATE INDEX mcps_server ON annals.mcps (org_id, mcp_server_id);

-- @org_isolated annals.mcps
