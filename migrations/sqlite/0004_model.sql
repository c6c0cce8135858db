-- ModelRepository: download_requests, api_model_aliases, model_metadata.
-- Times are UTC microseconds since the epoch; *_position columns are journal
-- positions, which order rows written in the same microsecond.

-- Model file downloads. updated_position: position of the last event applied.
CREATE TABLE download_requests (
  org_id           TEXT NOT NULL,
  id               TEXT NOT NULL,
  repo             TEXT NOT NULL,
  filename         TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'error')),
  error            TEXT,
  total_bytes      INTEGER,
  downloaded_bytes INTEGER NOT NULL DEFAULT 0,
  started_at       INTEGER,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  version          INTEGER NOT NULL,
  created_position INTEGER NOT NULL,
  updated_position INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE INDEX download_requests_updated
  ON download_requests (org_id, updated_at DESC, updated_position DESC);
CREATE INDEX download_requests_file
  ON download_requests (org_id, repo, filename, created_at DESC, created_position DESC);

-- Remote OpenAI-style APIs. Non-empty prefixes are unique per org (the
-- journal's "api_alias.prefix" reservation is the rule; the index is a
-- second line of defence). The API key is only ever stored sealed.
CREATE TABLE api_model_aliases (
  org_id                  TEXT NOT NULL,
  id                      TEXT NOT NULL,
  api_format              TEXT NOT NULL,
  base_url                TEXT NOT NULL,
  models                  TEXT NOT NULL,
  prefix                  TEXT,
  forward_all_with_prefix INTEGER NOT NULL DEFAULT 0 CHECK (forward_all_with_prefix IN (0, 1)),
  models_cache            TEXT,
  cache_fetched_at        INTEGER NOT NULL DEFAULT 0,
  encrypted_api_key       TEXT,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL,
  version                 INTEGER NOT NULL,
  created_version         INTEGER NOT NULL,  -- stream version of the create (ids are reusable)
  created_position        INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX api_model_aliases_prefix
  ON api_model_aliases (org_id, prefix) WHERE prefix IS NOT NULL AND prefix <> '';
CREATE INDEX api_model_aliases_created
  ON api_model_aliases (org_id, created_at DESC, created_position DESC);

-- What was learnt about a model. id: journal position of the event that
-- first created the row. api_model_key is api_model_id, or '' when absent,
-- so that the identity is NOT NULL and one unique index (and ON CONFLICT)
-- covers local files and remote models alike.
CREATE TABLE model_metadata (
  org_id                        TEXT NOT NULL,
  id                            INTEGER NOT NULL,
  source                        TEXT NOT NULL CHECK (source IN ('model', 'api')),
  repo                          TEXT NOT NULL DEFAULT '',
  filename                      TEXT NOT NULL DEFAULT '',
  snapshot                      TEXT NOT NULL DEFAULT '',
  api_model_id                  TEXT,
  api_model_key                 TEXT NOT NULL DEFAULT '',
  capabilities_vision           INTEGER CHECK (capabilities_vision IN (0, 1)),
  capabilities_audio            INTEGER CHECK (capabilities_audio IN (0, 1)),
  capabilities_thinking         INTEGER CHECK (capabilities_thinking IN (0, 1)),
  capabilities_function_calling INTEGER CHECK (capabilities_function_calling IN (0, 1)),
  capabilities_structured_output INTEGER CHECK (capabilities_structured_output IN (0, 1)),
  max_input_tokens              INTEGER,
  max_output_tokens             INTEGER,
  architecture                  TEXT,
  additional_metadata           TEXT,
  chat_template                 TEXT,
  extracted_at                  INTEGER NOT NULL,
  created_at                    INTEGER NOT NULL,
  updated_at                    INTEGER NOT NULL,
  version                       INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX model_metadata_identity
  ON model_metadata (org_id, source, repo, filename, snapshot, api_model_key);
