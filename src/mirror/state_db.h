#pragma once
// The mirror's recorded state in <dir>/.depot/state.db: what each committed file is (size,
// digests, validators) and the history of runs. A re-run trusts a file whose record and size on
// disk agree with the index, so unchanged files are never re-hashed. Not thread-safe.

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/digest.h"
#include "core/result.h"
#include "db/sqlite.h"

namespace depot {

struct FileRecord {
  std::string path;
  uint64_t size = 0;
  Digests digests;
  std::string etag;
  std::string last_modified;
  int stage = 0;
  int64_t run_id = 0;
};

struct RunRecord {
  int64_t id = 0;
  std::string kind, upstream, started_at, finished_at, status, message;
  int exit_code = -1;
  uint64_t files_total = 0, files_downloaded = 0, bytes_downloaded = 0, files_failed = 0,
           files_removed = 0;
};

class StateDb {
 public:
  // Opens or creates the database and migrates it to the current schema.
  static Result<StateDb> open(const std::filesystem::path& file);

  Result<std::unordered_map<std::string, FileRecord>> load_files();
  // Inserts or replaces the records in one transaction.
  Status upsert(const std::vector<FileRecord>& records);
  // Deletes the records in one transaction.
  Status remove(const std::vector<std::string>& paths);

  // Superseded files in their grace period: path -> unix seconds when first seen stale.
  Result<std::unordered_map<std::string, int64_t>> load_stale();
  // Replaces the whole grace-period table in one transaction.
  Status replace_stale(const std::unordered_map<std::string, int64_t>& stale);

  Result<int64_t> begin_run(const std::string& kind, const std::string& upstream);
  Status finish_run(const RunRecord& run);
  // Most recent runs first.
  Result<std::vector<RunRecord>> recent_runs(int limit);

 private:
  explicit StateDb(db::Connection conn) : conn_(std::move(conn)) {}
  db::Connection conn_;
};

}  // namespace depot
