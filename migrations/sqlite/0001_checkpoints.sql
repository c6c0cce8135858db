-- Where each projector has got to in the journal. Updated in the same
-- transaction as the rows a batch of events produced.
CREATE TABLE projection_checkpoints (
  projection TEXT NOT NULL PRIMARY KEY,
  position   INTEGER NOT NULL CHECK (position >= 0)
) STRICT;
