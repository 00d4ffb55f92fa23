#include "mirror/plan.h"

#include <algorithm>
#include <unordered_set>

namespace depot {

bool record_matches(const FileRecord& record, const Entry& entry) {
  if (entry.size && *entry.size != record.size) return false;
  if (entry.digests.empty()) return false;  // nothing to compare: never trust blindly
  return entry.digests.matches(record.digests);
}

Result<Plan> make_plan(const std::vector<Entry>& entries,
                       const std::unordered_map<std::string, FileRecord>& records,
                       const std::unordered_map<std::string, FileStat>& on_disk) {
  Plan plan;
  std::unordered_set<std::string> named;
  named.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (!named.insert(e.path.str()).second) {
      return make_error(ErrorCode::kParse, "upstream names " + e.path.str() + " twice");
    }
    if (e.local) {
      if (e.unchanged) {
        plan.unchanged.push_back(i);
      } else {
        plan.write.push_back(i);
      }
      continue;
    }
    auto disk = on_disk.find(e.path.str());
    auto rec = records.find(e.path.str());
    bool size_ok = disk != on_disk.end() && (!e.size || disk->second.size == *e.size);
    if (size_ok && rec != records.end() && rec->second.size == disk->second.size &&
        record_matches(rec->second, e)) {
      plan.unchanged.push_back(i);
    } else if (size_ok && e.size && !e.digests.empty()) {
      plan.rehash.push_back(i);
    } else {
      plan.download.push_back(i);
      plan.download_bytes += e.size.value_or(0);
    }
  }
  for (const auto& [path, _] : on_disk) {
    if (!named.count(path)) plan.stale.push_back(path);
  }
  for (const auto& [path, _] : records) {
    if (!named.count(path) && !on_disk.count(path)) plan.stale.push_back(path);
  }
  std::sort(plan.stale.begin(), plan.stale.end());
  return plan;
}

}  // namespace depot
