#pragma once
// UsageTable: when clients last asked for each package, by scope (an upstream's prefix) and
// package name (PathRules::package_name), for usage-driven prefetch. Lookups and records work
// on memory; flush() writes what changed to usage.db, so a restart remembers. Entries older
// than the window are forgotten. Thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/sqlite.h"

namespace depot {

class UsageTable {
 public:
  // Opens (creating) `db_file` and loads the entries used within `window`.
  static Result<std::unique_ptr<UsageTable>> open(const std::filesystem::path& db_file,
                                                  std::chrono::seconds window, Clock& clock);

  // One use now. Names longer than kMaxName are ignored; beyond kMaxEntries, new names are
  // ignored until old ones age out.
  void record(std::string_view scope, std::string_view name, uint64_t uses = 1);
  // Used within the window.
  bool recently_used(std::string_view scope, std::string_view name) const;
  // Writes the entries changed since the last flush and forgets those out of the window.
  Status flush();
  size_t size() const;

  static constexpr size_t kMaxName = 256;
  static constexpr size_t kMaxEntries = 1'000'000;

 private:
  struct Entry {
    int64_t last_used = 0;
    uint64_t uses = 0;
  };
  // scope '\0' name
  static std::string key(std::string_view scope, std::string_view name);

  UsageTable(db::Connection conn, std::chrono::seconds window, Clock& clock)
      : conn_(std::move(conn)), window_(window), clock_(clock) {}
  int64_t now() const { return unix_seconds(clock_.wall()); }
  Status load();

  std::mutex db_mu_;  // guards conn_ (flush runs on one thread at a time)
  db::Connection conn_;
  const std::chrono::seconds window_;
  Clock& clock_;
  mutable std::mutex mu_;  // guards entries_ and dirty_
  std::map<std::string, Entry, std::less<>> entries_;
  std::set<std::string> dirty_;
};

}  // namespace depot
