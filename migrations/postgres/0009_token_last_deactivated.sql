-- When each token was last deactivated (UTC microseconds; NULL when never).
-- Added after tokens were already being written: rows projected before this
-- migration hold NULL until a rebuild replays their history and fills it.
ALTER TABLE annals.api_tokens ADD COLUMN last_deactivated_at BIGINT;
