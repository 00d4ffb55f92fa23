#pragma once
// PoolStore: the content-addressed pool of a depot root and the database of packages and
// repositories over it.
//
// Layout under the root:
//   pool/<sha256[0:2]>/<sha256[2:4]>/<sha256>   package files, read-only, one per content
//   pool/.tmp/                                  imports in progress (emptied by gc)
//   depot.db                                    SQLite, schema in pool_schema_v1.sql
// A file is stored once however many packages and repositories name it. Reference counts
// (blobs.refcount = repository memberships of the packages in that file) change in the same
// transaction as the memberships. Not thread-safe: one owner (the daemon's mutation lane).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "pool/package.h"

namespace depot::pool {

struct StoredPackage {
  int64_t id = 0;
  Package package;
};

struct GcReport {
  uint64_t blobs_removed = 0;     // unreferenced files (and their rows) removed
  uint64_t bytes_removed = 0;
  uint64_t packages_removed = 0;  // package rows of those files
  uint64_t strays_removed = 0;    // files in pool/ without a row (a crash between copy and
                                  // commit), and leftovers in pool/.tmp/
  uint64_t refcounts_repaired = 0;
  std::vector<std::string> missing;  // sha256 of rows whose file is gone (not repairable here)
  bool clean() const {
    return blobs_removed == 0 && strays_removed == 0 && refcounts_repaired == 0 &&
           missing.empty();
  }
};

class PoolStore {
 public:
  // Creates the layout and database if missing.
  static Result<std::unique_ptr<PoolStore>> open(const std::filesystem::path& root,
                                                 Logger& logger);
  ~PoolStore();

  // Stores `file` (whose metadata is `pkg`) in the pool and records the package. The bytes are
  // copied and checked against pkg.file's size and digests while they are copied, fsynced, and
  // renamed into place before the database row is committed. Importing the same package again
  // is a no-op returning its id; the same format/name/version/architecture with other content
  // is kRefused, naming both digests.
  Result<int64_t> import(const Package& pkg, const std::filesystem::path& file);

  // Repository names: [a-z0-9][a-z0-9._+-]*, at most 64 bytes.
  static bool valid_repo_name(std::string_view name);
  Status create_repo(std::string_view name);  // kRefused when it exists
  Result<std::vector<std::string>> repos();

  // Adds and removes packages (by id) in one transaction; refcounts follow. Adding a package
  // already in the repo or removing one that is not is a no-op. Unknown repo or package:
  // kNotFound, and nothing changes.
  Status change_membership(std::string_view repo, const std::vector<int64_t>& add,
                           const std::vector<int64_t>& remove);
  // Every package of `repo`, ordered by name, version text, architecture.
  Result<std::vector<StoredPackage>> list(std::string_view repo);
  Result<StoredPackage> get(int64_t id);

  std::filesystem::path blob_path(std::string_view sha256) const;

  // Removes unreferenced files and their rows, stray files and temporaries, and recomputes
  // every refcount from the memberships (repairing drift after a crash). With `dry_run`, only
  // reports.
  Result<GcReport> gc(bool dry_run = false);

  struct Impl;

 private:
  explicit PoolStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot::pool
