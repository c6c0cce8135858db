-- McpRepository credentials: mcp_auth_headers, mcp_oauth_configs, mcp_oauth_tokens.
-- Times are UTC microseconds since the epoch; version is the stream version
-- the row reflects; created_position is the journal position of the create
-- (it orders rows created in the same microsecond). Secrets are kept only as
-- repositories::Secrets::seal output (sealed_* columns). mcp_server_id is
-- not checked against mcp_servers: the caller passes an existing server.
-- name_key is ascii_lower(name): names are unique per server, ASCII
-- case-insensitively (the journal's reservation is the rule; the unique
-- index is a second line of defence).

CREATE TABLE mcp_auth_headers (
  org_id              TEXT NOT NULL,
  id                  TEXT NOT NULL,
  name                TEXT NOT NULL,
  name_key            TEXT NOT NULL,
  mcp_server_id       TEXT NOT NULL,
  header_key          TEXT NOT NULL,
  sealed_header_value TEXT NOT NULL,
  created_by          TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  version             INTEGER NOT NULL,
  created_position    INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX mcp_auth_headers_name ON mcp_auth_headers (org_id, mcp_server_id, name_key);
CREATE INDEX mcp_auth_headers_server_created
  ON mcp_auth_headers (org_id, mcp_server_id, created_at DESC, created_position DESC);

CREATE TABLE mcp_oauth_configs (
  org_id                           TEXT NOT NULL,
  id                               TEXT NOT NULL,
  name                             TEXT NOT NULL,
  name_key                         TEXT NOT NULL,
  mcp_server_id                    TEXT NOT NULL,
  registration_type                TEXT NOT NULL,
  client_id                        TEXT NOT NULL,
  sealed_client_secret             TEXT,
  authorization_endpoint           TEXT NOT NULL,
  token_endpoint                   TEXT NOT NULL,
  registration_endpoint            TEXT,
  sealed_registration_access_token TEXT,
  client_id_issued_at              INTEGER,
  token_endpoint_auth_method       TEXT,
  scopes                           TEXT,
  created_by                       TEXT NOT NULL,
  created_at                       INTEGER NOT NULL,
  updated_at                       INTEGER NOT NULL,
  version                          INTEGER NOT NULL,
  created_position                 INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX mcp_oauth_configs_name ON mcp_oauth_configs (org_id, mcp_server_id, name_key);
CREATE INDEX mcp_oauth_configs_server_created
  ON mcp_oauth_configs (org_id, mcp_server_id, created_at DESC, created_position DESC);

CREATE TABLE mcp_oauth_tokens (
  org_id               TEXT NOT NULL,
  id                   TEXT NOT NULL,
  mcp_oauth_config_id  TEXT NOT NULL,
  sealed_access_token  TEXT NOT NULL,
  sealed_refresh_token TEXT,
  scopes_granted       TEXT,
  expires_at           INTEGER,
  created_by           TEXT NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  version              INTEGER NOT NULL,
  created_position     INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE INDEX mcp_oauth_tokens_config_created
  ON mcp_oauth_tokens (org_id, mcp_oauth_config_id, created_at DESC, created_position DESC);
CREATE INDEX mcp_oauth_tokens_config_user_created
  ON mcp_oauth_tokens (org_id, mcp_oauth_config_id, created_by, created_at DESC,
                       created_position DESC);
