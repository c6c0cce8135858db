-- McpRepository: mcp_servers, mcps.
-- Times are UTC microseconds since the epoch; booleans are 0/1.

-- The admin-managed allow-list of MCP servers. url is stored trimmed and is
-- unique per org, ASCII case-insensitively: the journal reservation
-- "mcp_server.url" is the rule; url_key (ascii_lower(trim(url))) is what
-- lookups query, and its unique index is a second line of defence.
CREATE TABLE mcp_servers (
  org_id           TEXT NOT NULL,
  id               TEXT NOT NULL,
  url              TEXT NOT NULL,
  url_key          TEXT NOT NULL,
  name             TEXT NOT NULL,
  description      TEXT,
  enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_by       TEXT NOT NULL,
  updated_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  version          INTEGER NOT NULL,  -- the stream version the row reflects
  created_position INTEGER NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX mcp_servers_url ON mcp_servers (org_id, url_key);
CREATE INDEX mcp_servers_created ON mcp_servers (org_id, created_at, created_position);

-- A user's instances of a server. slug is unique per user, ASCII
-- case-insensitively (reservation "mcp.slug"; slug_key as for toolsets).
CREATE TABLE mcps (
  org_id           TEXT NOT NULL,
  id               TEXT NOT NULL,
  created_by       TEXT NOT NULL,
  mcp_server_id    TEXT NOT NULL,
  name             TEXT NOT NULL,
  slug             TEXT NOT NULL,
  slug_key         TEXT NOT NULL,
  description      TEXT,
  enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  tools_cache      TEXT,              -- JSON, as given
  tools_filter     TEXT,              -- JSON, as given
  auth_type        TEXT NOT NULL CHECK (auth_type IN ('public', 'header', 'oauth')),
  auth_uuid        TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  version          INTEGER NOT NULL,
  created_position INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX mcps_user_slug ON mcps (org_id, created_by, slug_key);
CREATE INDEX mcps_user_created ON mcps (org_id, created_by, created_at, created_position);
CREATE INDEX mcps_server ON mcps (org_id, mcp_server_id);
