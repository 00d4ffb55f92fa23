-- v4: base distributions of a repository: apt indexes its packages may depend on. promote
-- --with-deps and import check Depends/Pre-Depends against the source, the repository and
-- these (pool/base_index.h). Architectures are the repository's own.
CREATE TABLE repo_bases (
  repo_id    INTEGER NOT NULL REFERENCES repos (id),
  position   INTEGER NOT NULL,  -- order given at create
  url        TEXT NOT NULL,     -- an absolute directory or an http(s) URL of an archive root
  dist       TEXT NOT NULL,
  components TEXT NOT NULL,     -- comma-separated
  PRIMARY KEY (repo_id, position)
) WITHOUT ROWID;
