-- AccessRepository, AccessRequestRepository, AppInstanceRepository, UserAliasRepository:
-- user_access_requests, app_access_requests, app_instances, user_aliases.
-- Times are UTC microseconds since the epoch; version is the stream version
-- the row reflects. Text that is compared or sorted uses the "C" collation.

-- Users asking to join the org. id is the journal position of the request
-- event; stream_id is the request's own stream.
CREATE TABLE annals.user_access_requests (
  org_id     TEXT COLLATE "C" NOT NULL,
  id         BIGINT NOT NULL,
  stream_id  TEXT COLLATE "C" NOT NULL,
  username   TEXT COLLATE "C" NOT NULL,
  user_id    TEXT COLLATE "C" NOT NULL,
  reviewer   TEXT COLLATE "C",
  status     TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version    BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE INDEX user_access_requests_status
  ON annals.user_access_requests (org_id, status, created_at, id);
CREATE INDEX user_access_requests_user
  ON annals.user_access_requests (org_id, user_id, status, created_at, id);

-- @org_isolated annals.user_access_requests

-- Third-party apps asking for access.
CREATE TABLE annals.app_access_requests (
  org_id               TEXT COLLATE "C" NOT NULL,
  id                   TEXT COLLATE "C" NOT NULL,
  app_client_id        TEXT COLLATE "C" NOT NULL,
  app_name             TEXT NOT NULL,
  app_description      TEXT NOT NULL,
  flow_type            TEXT COLLATE "C" NOT NULL CHECK (flow_type IN ('redirect', 'popup')),
  redirect_uri         TEXT NOT NULL,
  status               TEXT COLLATE "C" NOT NULL
                         CHECK (status IN ('draft', 'approved', 'denied', 'failed')),
  requested            TEXT NOT NULL,
  approved             TEXT,
  user_id              TEXT COLLATE "C",
  resource_scope       TEXT,
  access_request_scope TEXT COLLATE "C",
  error_message        TEXT,
  expires_at           BIGINT NOT NULL,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  version              BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

-- Second line of defence: the rule is the journal reservation
-- "app_access_request.scope". NULLs never collide.
CREATE UNIQUE INDEX app_access_requests_scope
  ON annals.app_access_requests (org_id, access_request_scope);

-- @org_isolated annals.app_access_requests

-- This org's OAuth client registration: at most one per org, by its key.
CREATE TABLE annals.app_instances (
  org_id               TEXT COLLATE "C" NOT NULL,
  client_id            TEXT COLLATE "C" NOT NULL,
  client_secret_sealed TEXT NOT NULL,  -- Secrets::seal output, never plain text
  scope                TEXT NOT NULL,
  status               TEXT COLLATE "C" NOT NULL,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  version              BIGINT NOT NULL,
  PRIMARY KEY (org_id)
);

-- @org_isolated annals.app_instances

-- Local model presets. alias is unique per org, case-sensitive (journal
-- reservation "user_alias.alias"; the unique index is a second line of defence).
CREATE TABLE annals.user_aliases (
  org_id         TEXT COLLATE "C" NOT NULL,
  id             TEXT COLLATE "C" NOT NULL,
  alias          TEXT COLLATE "C" NOT NULL,
  repo           TEXT COLLATE "C" NOT NULL,
  filename       TEXT COLLATE "C" NOT NULL,
  snapshot       TEXT COLLATE "C" NOT NULL,
  request_params TEXT NOT NULL DEFAULT '{}',
  context_params TEXT NOT NULL DEFAULT '[]',
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  version        BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX user_aliases_alias ON annals.user_aliases (org_id, alias);

-- @org_isolated annals.user_aliases
