#pragma once
// LocationLog: the gateway's SQLite cache of which node holds which path (size and sha256 as
// the node reported), and how far into each node's inventory the gateway has read. The nodes'
// inventories are the truth (GET /_depot/v1/inventory); the log is rebuilt from them and may
// lag them. One Connection, guarded by a mutex: every method is thread-safe.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/sqlite.h"
#include "serve/node_store.h"  // NodeChange

namespace depot::cluster {

struct Copy {
  std::string node;
  uint64_t size = 0;
  std::string sha256;
};

class LocationLog {
 public:
  // Opens or creates `<state_dir>/locations.sqlite3` (schema migrated), creating state_dir.
  static Result<std::unique_ptr<LocationLog>> open(const std::filesystem::path& state_dir);

  // The copies of `path` the log knows, in no particular order.
  Result<std::vector<Copy>> holders(std::string_view path);
  // Every path with its copies, path ascending, after `after` ("" from the start), at most
  // `limit` paths (fsck, rebalance and repair page through it).
  Result<std::vector<std::pair<std::string, std::vector<Copy>>>> paths(std::string_view after,
                                                                       size_t limit);
  // Paths `node` holds according to the log, path ascending, after `after`, at most `limit`.
  Result<std::vector<std::string>> paths_on(std::string_view node, std::string_view after,
                                            size_t limit);

  // Records that `node` holds / no longer holds `path` (the gateway's own PUT, DELETE, or a
  // holder found to lack it). Idempotent.
  Status add(std::string_view path, const Copy& copy);
  Status remove(std::string_view node, std::string_view path);

  // Applies one inventory page of `node` in one transaction: puts add or replace its copy,
  // deletes remove it; then its cursor becomes `last`.
  Status apply(std::string_view node, const std::vector<NodeChange>& changes, int64_t last);
  // The inventory sequence read so far from `node`; 0 when never read.
  Result<int64_t> cursor(std::string_view node);
  // Forgets every copy on `node` and its cursor (its inventory was recreated, or it was
  // removed from the cluster; a rebuild reads it again from 0).
  Status forget(std::string_view node);

  // Tombstones: paths dropped while some node could not confirm (see Gateway::drop).
  Status set_tombstone(std::string_view path, bool on);
  Result<std::vector<std::string>> tombstones();

  // Number of distinct paths, and of copies, in the log.
  Result<uint64_t> path_count();
  Result<uint64_t> copy_count();

 private:
  explicit LocationLog(db::Connection conn) : conn_(std::move(conn)) {}
  std::mutex mu_;
  db::Connection conn_;
  // holders()' query, prepared on first use (a GET's hot path); guarded by mu_, declared after
  // conn_ so that it is finalized first.
  std::optional<db::Statement> holders_st_;
};

}  // namespace depot::cluster
