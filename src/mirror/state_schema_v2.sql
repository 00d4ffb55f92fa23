-- Superseded index files kept for a grace period: when each was first seen stale (unix seconds).
CREATE TABLE stale (
  path  TEXT PRIMARY KEY,
  since INTEGER NOT NULL
) WITHOUT ROWID;
