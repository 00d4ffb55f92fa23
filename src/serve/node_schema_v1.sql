-- Storage node inventory (docs/architecture.md, "Storage node"): the latest change of each path
-- that was ever stored. seq grows with every change and is never reused (AUTOINCREMENT): a
-- change replaces the path's previous row under a new seq, so reading the rows after any seq
-- gives every path changed since then in its latest state. op 'put': the file is in the tree
-- with this size and sha256 (ino and mtime_ns identify the file that was written, so a start
-- can tell files changed behind the node's back); op 'delete': it is gone.
CREATE TABLE entries (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  path     TEXT NOT NULL UNIQUE,
  op       TEXT NOT NULL CHECK (op IN ('put', 'delete')),
  size     INTEGER NOT NULL DEFAULT 0,
  sha256   TEXT NOT NULL DEFAULT '',
  ino      INTEGER NOT NULL DEFAULT 0,
  mtime_ns INTEGER NOT NULL DEFAULT 0
);
