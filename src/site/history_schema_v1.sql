-- A site's run history: one row per run of a scheduled job, and the jobs an operator disabled.
CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  job         TEXT NOT NULL,
  started_ms  INTEGER NOT NULL,
  ended_ms    INTEGER,            -- NULL while running (or when the process died)
  result      TEXT NOT NULL,      -- running, success, failed, cancelled
  files       INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  total_files INTEGER NOT NULL DEFAULT 0,
  total_bytes INTEGER NOT NULL DEFAULT 0,
  exit_code   INTEGER NOT NULL DEFAULT 0,
  error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_job ON runs (job, started_ms);

CREATE TABLE disabled (
  job TEXT PRIMARY KEY
) WITHOUT ROWID;
