-- API tokens. token_prefix is unique across orgs: an API call presents a
-- token before its org is known, and the prefix finds it.
CREATE TABLE api_tokens (
  org_id       TEXT NOT NULL,
  id           TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  name         TEXT NOT NULL DEFAULT '',
  token_prefix TEXT NOT NULL,
  token_hash   TEXT NOT NULL,
  scopes       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  version      INTEGER NOT NULL,
  created_position INTEGER NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
) STRICT;

CREATE UNIQUE INDEX api_tokens_prefix ON api_tokens (token_prefix);
CREATE INDEX api_tokens_user_created
  ON api_tokens (org_id, user_id, created_at DESC, created_position DESC);
