#pragma once
// PoolStore: the content-addressed pool of a depot root and the database of packages and
// repositories over it.
//
// Layout under the root:
//   pool/<sha256[0:2]>/<sha256[2:4]>/<sha256>   package files, read-only, one per content
//   pool/.tmp/                                  imports in progress (emptied by gc)
//   depot.db                                    SQLite, schema in pool_schema_v1.sql and
//                                               its migrations (v2: snapshots, v4: bases)
// A file is stored once however many packages and repositories name it. Reference counts
// (blobs.refcount = repository and snapshot memberships of the packages in that file) change in
// the same transaction as the memberships. Not thread-safe: one owner (the daemon's mutation
// lane).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
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

// One package as a membership change names it.
struct PackageRef {
  int64_t id = 0;
  std::string name;
  std::string version;
  std::string architecture;
  bool operator==(const PackageRef&) const = default;
};

// A removed version and the version that replaces it (same name and architecture).
struct Replacement {
  PackageRef from, to;
};

// A Depends/Pre-Depends entry that nothing satisfies.
struct UnresolvedRelation {
  PackageRef package;    // the depender
  std::string field;     // "Depends" | "Pre-Depends"
  std::string relation;  // the entry, alternatives included: "a (>= 1) | b"
  std::string arch;      // the architecture it was resolved for
  // "app 1.0 (amd64) Depends 'a (>= 1) | b' for amd64"
  std::string to_string() const;
};

// What pull, promote and rollback changed (or, dry-run, would change) in the destination,
// each list ordered by name, architecture, version. `removed` includes the replaced versions.
struct ChangeReport {
  std::vector<PackageRef> added;
  std::vector<PackageRef> removed;
  std::vector<Replacement> replaced;  // pull and promote: which removal each addition replaces
  std::vector<UnresolvedRelation> unresolved;  // accepted with allow_unresolved
  bool empty() const { return added.empty() && removed.empty(); }
};

// A base distribution of a repository: an apt archive (a directory made by `depot mirror apt`,
// or an http(s) URL) whose packages the repository's packages may depend on.
struct BaseSpec {
  std::string url;                      // absolute directory or http(s) URL of the archive root
  std::string dist;                     // dists/<dist>/
  std::vector<std::string> components;  // at least one
  bool operator==(const BaseSpec&) const = default;
  std::string to_string() const;        // "URL DIST comp1,comp2"
};

// Checks a base's fields: kInvalidArgument naming the problem.
Status validate_base(const BaseSpec& base);

// A base as JSON: {"url", "dist", "components"} (requests, job arguments, replies). from_json
// does not validate: an absent field reads as empty, non-strings in "components" are skipped.
void to_json(nlohmann::json& j, const BaseSpec& base);
void from_json(const nlohmann::json& j, BaseSpec& base);

struct PromoteOptions {
  bool with_deps = false;         // the Depends/Pre-Depends closure in src too
  bool dry_run = false;           // the report of what would change; nothing changes
  bool allow_unresolved = false;  // unresolved relations go to the report instead of kRefused
  // Packages of dest's base distributions (BaseIndexCache): they satisfy relations, never move.
  std::vector<const StoredPackage*> base;
};

struct SnapshotInfo {
  std::string name;
  std::string repo;
  int64_t created_at = 0;  // unix seconds
  uint64_t packages = 0;
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

  struct ImportItem {
    const Package* package;
    std::filesystem::path file;
  };
  // import() for many packages at once, much cheaper on a large batch: every package is checked
  // first (a conflict with the pool or within the batch is kRefused and nothing is copied),
  // the files are copied and verified, the filesystem is synced once, and every row commits in
  // one transaction. Returns the ids in the order of `items`. On an error no row is recorded;
  // files already copied stay in the pool without a row, which gc removes.
  Result<std::vector<int64_t>> import_many(std::span<const ImportItem> items);

  // Repository names: [a-z0-9][a-z0-9._+-]*, at most 64 bytes.
  static bool valid_repo_name(std::string_view name);
  // kRefused when it exists; `bases` (validate_base) are stored with it (repo_bases.cc).
  Status create_repo(std::string_view name, const std::vector<BaseSpec>& bases = {});
  Result<std::vector<std::string>> repos();
  // The base distributions of `repo` in the order given; kNotFound for an unknown repo.
  Result<std::vector<BaseSpec>> bases(std::string_view repo);
  // Replaces the bases of `repo` (one transaction).
  Status set_bases(std::string_view repo, const std::vector<BaseSpec>& bases);
  // The architectures of `repo`'s packages, "all" excepted, sorted.
  Result<std::vector<std::string>> architectures(std::string_view repo);

  // Adds and removes packages (by id) in one transaction; refcounts follow. Adding a package
  // already in the repo or removing one that is not is a no-op. Unknown repo or package:
  // kNotFound, and nothing changes.
  Status change_membership(std::string_view repo, const std::vector<int64_t>& add,
                           const std::vector<int64_t>& remove);
  // Every package of `repo`, ordered by name, version text, architecture.
  Result<std::vector<StoredPackage>> list(std::string_view repo);
  Result<StoredPackage> get(int64_t id);
  // Every package of `repo` with its fields as stored text, in no particular order: what a
  // publication reads (no per-field strings for tens of thousands of packages).
  Result<std::vector<PackageText>> list_texts(std::string_view repo);

  std::filesystem::path blob_path(std::string_view sha256) const;

  // --- Repository operations (repo_ops.cc). Each is one transaction: on any failure nothing
  // changes. Versions are compared with compare_versions (dpkg ordering); a package's identity
  // for replacement is (format, name, architecture).

  // For every (format, name, architecture) of `src` whose newest version there is newer than
  // every version `dest` holds (or dest holds none): adds that version to dest and removes
  // dest's versions of it. Dest versions that are newer or equal stay. kNotFound for an
  // unknown repository. With `dry_run`, only the report: nothing changes.
  Result<ChangeReport> pull(std::string_view dest, std::string_view src, bool dry_run = false);

  // Promotes the newest version in `src` of each named package, for every architecture src has
  // it in, and with `with_deps` the closure of their Depends and Pre-Depends resolved inside
  // src (see repo_ops.cc for the rules: first alternative src satisfies, newest version meeting
  // the constraint, Provides count, arch qualifiers :any/:native). Each is added to dest with
  // pull's replacement rule. A dependency src cannot satisfy is accepted only when dest, as it
  // will be after the change, satisfies it; otherwise kRefused naming the package and the
  // relation. A name src does not hold: kNotFound. A malformed relation field: kParse.
  // opts.base packages satisfy relations like dest's do. Every unresolved relation is listed in
  // the kRefused message (or, with allow_unresolved, in the report).
  Result<ChangeReport> promote(std::string_view dest, std::string_view src,
                               const std::vector<std::string>& names, const PromoteOptions& opts);
  Result<ChangeReport> promote(std::string_view dest, std::string_view src,
                               const std::vector<std::string>& names, bool with_deps) {
    PromoteOptions o;
    o.with_deps = with_deps;
    return promote(dest, src, names, o);
  }

  // Records the current membership of `repo` as an immutable snapshot and returns its name.
  // An empty `name` becomes "<repo>-YYYYMMDD-HHMMSS" (UTC) with "-2", "-3"... appended when
  // taken. Names follow the repository name rules, at most 128 bytes, and are unique across
  // repositories (kRefused when taken). Snapshot memberships hold blob references.
  Result<std::string> snapshot(std::string_view repo, std::string_view name = {});
  // Snapshots of `repo`, oldest first.
  Result<std::vector<SnapshotInfo>> snapshots(std::string_view repo);
  // The packages of a snapshot, ordered as list() orders them.
  Result<std::vector<StoredPackage>> snapshot_list(std::string_view snapshot);
  // Replaces the membership of `repo` with that of `snapshot`, which must be one of repo's
  // (kRefused otherwise, kNotFound when unknown).
  Result<ChangeReport> rollback(std::string_view repo, std::string_view snapshot);
  // Deletes a snapshot and releases its references (gc then removes files nothing else names).
  Status drop_snapshot(std::string_view snapshot);

  // Removes unreferenced files and their rows, stray files and temporaries, and recomputes
  // every refcount from the repository and snapshot memberships (repairing drift after a crash). With `dry_run`, only
  // reports.
  Result<GcReport> gc(bool dry_run = false);

  struct Impl;

 private:
  explicit PoolStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot::pool
