-- Mirror state: one row per file the mirror holds, and one row per run.
CREATE TABLE files (
  path          TEXT PRIMARY KEY,
  size          INTEGER NOT NULL,
  md5           TEXT NOT NULL DEFAULT '',
  sha1          TEXT NOT NULL DEFAULT '',
  sha256        TEXT NOT NULL DEFAULT '',
  sha512        TEXT NOT NULL DEFAULT '',
  etag          TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  stage         INTEGER NOT NULL,
  run_id        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  kind             TEXT NOT NULL,
  upstream         TEXT NOT NULL,
  started_at       TEXT NOT NULL,
  finished_at      TEXT,
  status           TEXT NOT NULL,
  exit_code        INTEGER,
  files_total      INTEGER NOT NULL DEFAULT 0,
  files_downloaded INTEGER NOT NULL DEFAULT 0,
  bytes_downloaded INTEGER NOT NULL DEFAULT 0,
  files_failed     INTEGER NOT NULL DEFAULT 0,
  files_removed    INTEGER NOT NULL DEFAULT 0,
  message          TEXT NOT NULL DEFAULT ''
);
