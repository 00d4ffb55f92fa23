-- Hosted repositories over a content-addressed pool. A blob is one file in pool/ (by sha256);
-- its refcount is the number of repository memberships of packages stored in it, kept in the
-- same transaction as the memberships themselves.
CREATE TABLE blobs (
  sha256   TEXT PRIMARY KEY,
  size     INTEGER NOT NULL,
  refcount INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0)
) WITHOUT ROWID;

CREATE TABLE packages (
  id           INTEGER PRIMARY KEY,
  format       TEXT NOT NULL,
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  architecture TEXT NOT NULL,
  filename     TEXT NOT NULL,
  size         INTEGER NOT NULL,
  md5          TEXT NOT NULL,
  sha1         TEXT NOT NULL,
  sha256       TEXT NOT NULL REFERENCES blobs (sha256),
  sha512       TEXT NOT NULL,
  fields       TEXT NOT NULL,  -- JSON array of [name, value] pairs, original order
  imported_at  INTEGER NOT NULL,
  UNIQUE (format, name, version, architecture)
);
CREATE INDEX packages_by_blob ON packages (sha256);

CREATE TABLE repos (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

CREATE TABLE repo_packages (
  repo_id    INTEGER NOT NULL REFERENCES repos (id),
  package_id INTEGER NOT NULL REFERENCES packages (id),
  PRIMARY KEY (repo_id, package_id)
) WITHOUT ROWID;
CREATE INDEX repo_packages_by_package ON repo_packages (package_id);
