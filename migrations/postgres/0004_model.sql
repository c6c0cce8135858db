-- ModelRepository: download_requests, api_model_aliases, model_metadata.
-- Times are UTC microseconds since the epoch; *_position columns are journal
-- positions, which order rows written in the same microsecond. Text that is
-- compared or sorted uses the "C" collation: byte order, as SQLite sorts.

-- Model file downloads. updated_position: position of the last event applied.
CREATE TABLE annals.download_requests (
  org_id           TEXT COLLATE "C" NOT NULL,
  id               TEXT COLLATE "C" NOT NULL,
  repo             TEXT COLLATE "C" NOT NULL,
  filename         TEXT COLLATE "C" NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'error')),
  error            TEXT,
  total_bytes      BIGINT,
  downloaded_bytes BIGINT NOT NULL DEFAULT 0,
  started_at       BIGINT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  version          BIGINT NOT NULL,
  created_position BIGINT NOT NULL,
  updated_position BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE INDEX download_requests_updated
  ON annals.download_requests (org_id, updated_at DESC, updated_position DESC);
CREATE INDEX download_requests_file
  ON annals.download_requests (org_id, repo, filename, created_at DESC, created_position DESC);

-- @org_isolated annals.download_requests

-- Remote OpenAI-style APIs. Non-empty prefixes are unique per org (the
-- journal's "api_alias.prefix" reservation is the rule; the index is a
-- second line of defence). The API key is only ever stored sealed.
CREATE TABLE annals.api_model_aliases (
  org_id                  TEXT COLLATE "C" NOT NULL,
  id                      TEXT COLLATE "C" NOT NULL,
  api_format              TEXT COLLATE "C" NOT NULL,
  base_url                TEXT NOT NULL,
  models                  TEXT NOT NULL,
  prefix                  TEXT COLLATE "C",
  forward_all_with_prefix BOOLEAN NOT NULL DEFAULT false,
  models_cache            TEXT,
  cache_fetched_at        BIGINT NOT NULL DEFAULT 0,
  encrypted_api_key       TEXT,
  created_at              BIGINT NOT NULL,
  updated_at              BIGINT NOT NULL,
  version                 BIGINT NOT NULL,
  created_version         BIGINT NOT NULL,  -- stream version of the create (ids are reusable)
  created_position        BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX api_model_aliases_prefix
  ON annals.api_model_aliases (org_id, prefix) WHERE prefix IS NOT NULL AND prefix <> '';
CREATE INDEX api_model_aliases_created
  ON annals.api_model_aliases (org_id, created_at DESC, created_position DESC);

-- @org_isolated annals.api_model_aliases

-- What was learnt about a model. id: journal position of the event that
-- first created the row. api_model_key is api_model_id, or '' when absent,
-- so that the identity is NOT NULL and one unique index (and ON CONFLICT)
-- covers local files and remote models alike.
CREATE TABLE annals.model_metadata (
  org_id                         TEXT COLLATE "C" NOT NULL,
  id                             BIGINT NOT NULL,
  source                         TEXT COLLATE "C" NOT NULL CHECK (source IN ('model', 'api')),
  repo                           TEXT COLLATE "C" NOT NULL DEFAULT '',
  filename                       TEXT COLLATE "C" NOT NULL DEFAULT '',
  snapshot                       TEXT COLLATE "C" NOT NULL DEFAULT '',
  api_model_id                   TEXT COLLATE "C",
  api_model_key                  TEXT COLLATE "C" NOT NULL DEFAULT '',
  capabilities_vision            BOOLEAN,
  capabilities_audio             BOOLEAN,
  capabilities_thinking          BOOLEAN,
  capabilities_function_calling  BOOLEAN,
  capabilities_structured_output BOOLEAN,
  max_input_tokens               BIGINT,
  max_output_tokens              BIGINT,
  architecture                   TEXT,
  additional_metadata            TEXT,
  chat_template                  TEXT,
  extracted_at                   BIGINT NOT NULL,
  created_at                     BIGINT NOT NULL,
  updated_at                     BIGINT NOT NULL,
  version                        BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX model_metadata_identity
  ON annals.model_metadata (org_id, source, repo, filename, snapshot, api_model_key);

-- @org_isolated annals.model_metadata
