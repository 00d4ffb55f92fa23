#pragma once
// The diff step: compares a snapshot with the recorded state and the files on disk, and
// decides what to download, what is already in place, and what became stale. Pure: no I/O.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "mirror/state_db.h"
#include "sources/source.h"
#include "storage/target.h"

namespace depot {

struct Plan {
  std::vector<size_t> download;   // blob entries to fetch
  std::vector<size_t> unchanged;  // entries whose committed copy is current
  std::vector<size_t> rehash;     // on disk with the right size but unrecorded: hash to adopt
  std::vector<size_t> write;      // entries with local content to commit (fetched indexes)
  std::vector<std::string> stale; // on disk (or recorded), named by no entry
  uint64_t download_bytes = 0;    // sum of declared sizes of `download`
};

// Fails when two entries share a path.
Result<Plan> make_plan(const std::vector<Entry>& entries,
                       const std::unordered_map<std::string, FileRecord>& records,
                       const std::unordered_map<std::string, FileStat>& on_disk);

// Spreads downloads over up to `threads` download loops. Several loops pay off for many files
// or many bytes (receiving and hashing cost about 1 CPU-s per GB); each file goes to the loop
// with the fewest bytes so far. Returns the loop of each element of `sizes` (all 0 for one).
std::vector<size_t> assign_download_loops(const std::vector<uint64_t>& sizes, size_t threads);

// True when `record` describes `entry`'s declared content (size and every shared digest).
bool record_matches(const FileRecord& record, const Entry& entry);

}  // namespace depot
