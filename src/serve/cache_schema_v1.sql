-- Pull-through cache: one row per file under files/. access_seq is a logical clock of last use
-- (larger = more recently used); rows are loaded in that order to rebuild the LRU list.
CREATE TABLE files (
  path          TEXT PRIMARY KEY,
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL DEFAULT '',
  etag          TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  content_type  TEXT NOT NULL DEFAULT '',
  fetched_at    INTEGER NOT NULL,
  validated_at  INTEGER NOT NULL,
  access_seq    INTEGER NOT NULL
) WITHOUT ROWID;
