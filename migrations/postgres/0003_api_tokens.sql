-- API tokens. token_prefix is unique across orgs: an API call presents a
-- token before its org is known, and the prefix finds it.
CREATE TABLE annals.api_tokens (
  org_id           TEXT COLLATE "C" NOT NULL,
  id               TEXT COLLATE "C" NOT NULL,
  user_id          TEXT COLLATE "C" NOT NULL,
  name             TEXT NOT NULL DEFAULT '',
  token_prefix     TEXT COLLATE "C" NOT NULL,
  token_hash       TEXT NOT NULL,
  scopes           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  version          BIGINT NOT NULL,
  created_position BIGINT NOT NULL,  -- journal position of the create: orders equal times
  PRIMARY KEY (org_id, id)
);

CREATE UNIQUE INDEX api_tokens_prefix ON annals.api_tokens (token_prefix);
CREATE INDEX api_tokens_user_created
  ON annals.api_tokens (org_id, user_id, created_at DESC, created_position DESC);

-- @org_isolated annals.api_tokens

-- The one path that reads a token before its org is known: an exact prefix
-- match returning at most the matching row. It runs as the owner (which may
-- bypass RLS) and only the query role may call it.
CREATE FUNCTION annals.token_by_prefix(p_prefix TEXT)
  RETURNS SETOF annals.api_tokens
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = annals, pg_temp
  AS $fn$ SELECT * FROM annals.api_tokens WHERE token_prefix = p_prefix LIMIT 1 $fn$;
REVOKE ALL ON FUNCTION annals.token_by_prefix(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION annals.token_by_prefix(TEXT) TO annals_query;
