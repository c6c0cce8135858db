-- AccessRepository, AccessRequestRepository, AppInstanceRepository, UserAliasRepository:
-- user_access_requests, app_access_requests, app_instances, user_aliases.
-- Times are UTC microseconds since the epoch; version is the stream version
-- the row reflects.

-- Users asking to join the org. id is the journal position of the request
-- event; stream_id is the request's own stream.
CREATE TABLE user_access_requests (
  org_id     TEXT NOT NULL,
  id         INTEGER NOT NULL,
  stream_id  TEXT NOT NULL,
  username   TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  reviewer   TEXT,
  status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version    INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE INDEX user_access_requests_status ON user_access_requests (org_id, status, created_at, id);
CREATE INDEX user_access_requests_user
  ON user_access_requests (org_id, user_id, status, created_at, id);

-- Third-party apps asking for access.
CREATE TABLE app_access_requests (
  org_id               TEXT NOT NULL,
  id                   TEXT NOT NULL,
  app_client_id        TEXT NOT NULL,
  app_name             TEXT NOT NULL,
  app_description      TEXT NOT NULL,
  flow_type            TEXT NOT NULL CHECK (flow_type IN ('redirect', 'popup')),
  redirect_uri         TEXT NOT NULL,
  status               TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'denied', 'failed')),
  requested            TEXT NOT NULL,
  approved             TEXT,
  user_id              TEXT,
  resource_scope       TEXT,
  access_request_scope TEXT,
  error_message        TEXT,
  expires_at           INTEGER NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  version              INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

-- Second line of defence: the rule is the journal reservation
-- "app_access_request.scope". NULLs never collide.
CREATE UNIQUE INDEX app_access_requests_scope
  ON app_access_requests (org_id, access_request_scope);

-- This org's OAuth client registration: at most one per org, by its key.
CREATE TABLE app_instances (
  org_id               TEXT NOT NULL,
  client_id            TEXT NOT NULL,
  client_secret_sealed TEXT NOT NULL,  -- Secrets::seal output, never plain text
  scope                TEXT NOT NULL,
  status               TEXT NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  version              INTEGER NOT NULL,
  PRIMARY KEY (org_id)
) STRICT;

-- Local model presets. alias is unique per org, case-sensitive (journal
-- reservation "user_alias.alias"; the unique index is a second line of defence).
CREATE TABLE user_aliases (
  org_id         TEXT NOT NULL,
  id             TEXT NOT NULL,
  alias          TEXT NOT NULL,
  repo           TEXT NOT NULL,
  filename       TEXT NOT NULL,
  snapshot       TEXT NOT NULL,
  request_params TEXT NOT NULL DEFAULT '{}',
  context_params TEXT NOT NULL DEFAULT '[]',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  version        INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX user_aliases_alias ON user_aliases (org_id, alias);
