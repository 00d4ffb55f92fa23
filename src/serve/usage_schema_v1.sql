-- Usage-driven prefetch: when clients last asked for each package, by scope (an upstream's
-- prefix) and package name. `uses` counts requests and reports received.
CREATE TABLE usage (
  scope     TEXT NOT NULL,
  name      TEXT NOT NULL,
  last_used INTEGER NOT NULL,  -- unix seconds
  uses      INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
) WITHOUT ROWID;
CREATE INDEX usage_by_time ON usage (last_used);
