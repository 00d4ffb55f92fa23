#pragma once
// History: every run of a site's jobs, in SQLite (<state_dir>/history.db): start, end, result,
// files and bytes downloaded, the mirror's size, exit code and error; runs older than the kept
// number of days are pruned. Also the jobs an operator disabled (they stay disabled across
// restarts). A run still marked running when the database is opened was cut off by a crash
// and is closed as failed. Not thread-safe: one owner.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/sqlite.h"
#include "site/schedule.h"

namespace depot::site {

struct RunRecord {
  int64_t id = 0;
  std::string job;
  WallTime started{};
  std::optional<WallTime> ended;
  std::string result = "running";             // running, success, failed, cancelled
  uint64_t files = 0, bytes = 0;              // downloaded by the run
  uint64_t total_files = 0, total_bytes = 0;  // the mirror after the run (0: unknown)
  int exit_code = 0;
  std::string error;
};

class History {
 public:
  static Result<History> open(const std::filesystem::path& file, WallTime now);

  // Records the start of a run; returns its id.
  Result<int64_t> begin(const std::string& job, WallTime started);
  // Records the end of run `r.id` (every field but job and started).
  Status end(const RunRecord& r);
  // The last `limit` runs of `job`, oldest first.
  Result<std::vector<RunRecord>> recent(const std::string& job, int limit);
  // Removes runs started before `cutoff`, keeping each job's last run of every result.
  Status prune(WallTime cutoff);

  Result<std::set<std::string>> disabled();
  Status set_disabled(const std::string& job, bool disabled);

 private:
  explicit History(db::Connection c) : db_(std::move(c)) {}
  db::Connection db_;
};

}  // namespace depot::site
