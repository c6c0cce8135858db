-- Where each projector has got to in the journal. Updated in the same
-- transaction as the rows a batch of events produced. Lives in annals_meta:
-- it holds no org's data, and the query role may only read it.
CREATE TABLE annals_meta.projection_checkpoints (
  projection TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  position   BIGINT NOT NULL CHECK (position >= 0)
);
GRANT SELECT ON annals_meta.projection_checkpoints TO annals_query;
GRANT SELECT, INSERT, UPDATE ON annals_meta.projection_checkpoints TO annals_projector;
