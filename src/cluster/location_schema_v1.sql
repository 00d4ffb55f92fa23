-- Gateway location log (src/cluster/location_log.h): a cache of the nodes' inventories.
-- copies: `node` holds `path` with this size and sha256, as the node reported.
-- cursors: the inventory seq read so far from `node` (absent: never read, 0).
CREATE TABLE copies (
  path   TEXT NOT NULL,
  node   TEXT NOT NULL,
  size   INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (path, node)
) WITHOUT ROWID;
CREATE INDEX copies_by_node ON copies (node, path);
CREATE TABLE cursors (
  node TEXT PRIMARY KEY,
  seq  INTEGER NOT NULL
) WITHOUT ROWID;
