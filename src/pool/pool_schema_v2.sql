-- Migration v1 -> v2: snapshots, immutable named versions of a repository's membership.
-- A snapshot membership holds a blob reference like a repository membership does: from v2 on,
-- blobs.refcount = repository memberships + snapshot memberships of the packages in the blob.
-- No snapshots exist before v2, so no refcount changes here.
CREATE TABLE snapshots (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  repo_id    INTEGER NOT NULL REFERENCES repos (id),
  created_at INTEGER NOT NULL
);
CREATE INDEX snapshots_by_repo ON snapshots (repo_id);

CREATE TABLE snapshot_packages (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
  package_id  INTEGER NOT NULL REFERENCES packages (id),
  PRIMARY KEY (snapshot_id, package_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_packages_by_package ON snapshot_packages (package_id);
