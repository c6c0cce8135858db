-- McpRepository credentials: mcp_auth_headers, mcp_oauth_configs, mcp_oauth_tokens.
-- Times are UTC microseconds since the epoch; version is the stream version
-- the row reflects; created_position is the journal position of the create
-- (it orders rows created in the same microsecond). Secrets are kept only as
-- repositories::Secrets::seal output (sealed_* columns). mcp_server_id is
-- not checked against mcp_servers: the caller passes an existing server.
-- name_key is ascii_lower(name): names are unique per server, ASCII
-- case-insensitively (the journal's reservation is the rule; the unique
-- index is a second line of defence). Text compares in the "C" collation.

CREATE TABLE annals.mcp_auth_headers (
  org_id              TEXT COLLATE "C" NOT NULL,
  id                  TEXT COLLATE "C" NOT NULL,
  name                TEXT COLLATE "C" NOT NULL,
  name_key            TEXT COLLATE "C" NOT NULL,
  mcp_server_id       TEXT COLLATE "C" NOT NULL,
  header_key          TEXT COLLATE "C" NOT NULL,
  sealed_header_value TEXT NOT NULL,
  created_by          TEXT COLLATE "C" NOT NULL,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  version             BIGINT NOT NULL,
  created_position    BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX mcp_auth_headers_name
  ON annals.mcp_auth_headers (org_id, mcp_server_id, name_key);
CREATE INDEX mcp_auth_headers_server_created
  ON annals.mcp_auth_headers (org_id, mcp_server_id, created_at DESC, created_position DESC);

-- @org_isolated annals.mcp_auth_headers

CREATE TABLE annals.mcp_oauth_configs (
  org_id                           TEXT COLLATE "C" NOT NULL,
  id                               TEXT COLLATE "C" NOT NULL,
  name                             TEXT COLLATE "C" NOT NULL,
  name_key                         TEXT COLLATE "C" NOT NULL,
  mcp_server_id                    TEXT COLLATE "C" NOT NULL,
  registration_type                TEXT COLLATE "C" NOT NULL,
  client_id                        TEXT COLLATE "C" NOT NULL,
  sealed_client_secret             TEXT,
  authorization_endpoint           TEXT COLLATE "C" NOT NULL,
  token_endpoint                   TEXT COLLATE "C" NOT NULL,
  registration_endpoint            TEXT COLLATE "C",
  sealed_registration_access_token TEXT,
  client_id_issued_at              BIGINT,
  token_endpoint_auth_method       TEXT COLLATE "C",
  scopes                           TEXT COLLATE "C",
  created_by                       TEXT COLLATE "C" NOT NULL,
  created_at                       BIGINT NOT NULL,
  updated_at                       BIGINT NOT NULL,
  version                          BIGINT NOT NULL,
  created_position                 BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX mcp_oauth_configs_name
  ON annals.mcp_oauth_configs (org_id, mcp_server_id, name_key);
CREATE INDEX mcp_oauth_configs_server_created
  ON annals.mcp_oauth_configs (org_id, mcp_server_id, created_at DESC, created_position DESC);

-- @org_isolated annals.mcp_oauth_configs

CREATE TABLE annals.mcp_oauth_tokens (
  org_id               TEXT COLLATE "C" NOT NULL,
  id                   TEXT COLLATE "C" NOT NULL,
  mcp_oauth_config_id  TEXT COLLATE "C" NOT NULL,
  sealed_access_token  TEXT NOT NULL,
  sealed_refresh_token TEXT,
  scopes_granted       TEXT COLLATE "C",
  expires_at           BIGINT,
  created_by           TEXT COLLATE "C" NOT NULL,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  version              BIGINT NOT NULL,
  created_position     BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE INDEX mcp_oauth_tokens_config_created
  ON annals.mcp_oauth_tokens (org_id, mcp_oauth_config_id, created_at DESC, created_position DESC);
CREATE INDEX mcp_oauth_tokens_config_user_created
  ON annals.mcp_oauth_tokens (org_id, mcp_oauth_config_id, created_by, created_at DESC,
                              created_position DESC);

-- @org_isolated annals.mcp_oauth_tokens
