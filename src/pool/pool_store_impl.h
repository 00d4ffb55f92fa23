#pragma once
// Private to the pool library: PoolStore's state, shared by pool_store.cc and repo_ops.cc.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "db/sqlite.h"
#include "pool/pool_store.h"

namespace depot::pool {

// FROM ... WHERE clauses over `packages p` for Impl::load_packages (?1 = repo or snapshot id).
inline constexpr const char* kRepoMembers =
    "FROM repo_packages rp JOIN packages p ON p.id = rp.package_id WHERE rp.repo_id = ?1";
inline constexpr const char* kSnapshotMembers =
    "FROM snapshot_packages sp JOIN packages p ON p.id = sp.package_id WHERE sp.snapshot_id = ?1";

// [a-z0-9][a-z0-9._+-]*, at most `max_size` bytes: repository (64) and snapshot (128) names.
bool valid_pool_name(std::string_view name, size_t max_size);

struct PoolStore::Impl {
  Impl(std::filesystem::path r, db::Connection c, Logger& l)
      : root(std::move(r)), conn(std::move(c)), log(l) {}
  std::filesystem::path root;
  db::Connection conn;
  Logger& log;

  std::filesystem::path pool_dir() const { return root / "pool"; }
  std::filesystem::path tmp_dir() const { return root / "pool" / ".tmp"; }
  std::filesystem::path blob_path(std::string_view sha256) const;  // see PoolStore::blob_path

  Result<int64_t> repo_id(std::string_view name);
  Result<StoredPackage> row_to_package(db::Statement& st);
  // Packages selected by `from_where` (a FROM ... WHERE ... clause over `packages p` with one
  // parameter ?1 = key), ordered by name, version text, architecture.
  Result<std::vector<StoredPackage>> load_packages(std::string_view from_where, int64_t key);
  // Adds and removes repository memberships with their refcounts, inside the caller's
  // transaction. kNotFound for an unknown package id.
  Status apply_membership(int64_t repo_id, const std::vector<int64_t>& add,
                          const std::vector<int64_t>& remove);
  // Copies `src` to `dst_tmp` checking pkg.file's size and digests (fsynced with `sync`).
  Status copy_verified(const Package& pkg, const std::filesystem::path& src,
                       const std::filesystem::path& dst_tmp, bool sync);
  // The id of the package already stored as `pkg` with the same content, nothing when there is
  // none, kRefused when it is stored with other content (`file` names the import).
  Result<std::optional<int64_t>> existing_package(const Package& pkg,
                                                  const std::filesystem::path& file);
  // Copies `file` into the pool (verified) unless its blob is there; with `sync`, the copy and
  // its directory are fsynced.
  Status store_file(const Package& pkg, const std::filesystem::path& file, bool sync);
  // The blob and package rows of `pkg`, inside the caller's transaction.
  Result<int64_t> insert_package(const Package& pkg);
};

}  // namespace depot::pool
