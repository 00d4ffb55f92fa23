-- The daemon's job queue (<root>/jobs.db). A job runs in one lane: "mutation" (one thread,
-- strictly in id order) or "worker" (a pool of threads). Times are Unix milliseconds; NULL
-- until the job reaches that point. A job found "running" when the queue opens was cut off by
-- a crash and goes back to "queued"; attempts counts how often a lane has started it.
CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,
  lane        TEXT NOT NULL CHECK (lane IN ('mutation', 'worker')),
  args        TEXT NOT NULL,  -- JSON
  state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  message     TEXT NOT NULL DEFAULT '',  -- result summary, or the error of a failed job
  attempts    INTEGER NOT NULL DEFAULT 0,
  created_ms  INTEGER NOT NULL,
  started_ms  INTEGER,
  finished_ms INTEGER
);
CREATE INDEX jobs_by_lane_state ON jobs (lane, state, id);
