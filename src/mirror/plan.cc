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
    if (e.content) {
      auto disk = on_disk.find(e.path.str());
      bool present = disk != on_disk.end() && (!e.size || disk->second.size == *e.size);
      // Content the source made or fetched that equals the committed copy: nothing to write.
      auto rec = records.find(e.path.str());
      bool same = present && rec != records.end() && disk->second.size == rec->second.size &&
                  record_matches(rec->second, e);
      if ((e.unchanged && present) || same) {
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

std::vector<size_t> assign_download_loops(const std::vector<uint64_t>& sizes, size_t threads) {
  constexpr size_t kSplitFiles = 64;
  constexpr uint64_t kSplitBytes = 64ull << 20;
  uint64_t total = 0;
  for (uint64_t s : sizes) total += s;
  size_t loops = std::clamp<size_t>(threads, 1, 16);
  if (sizes.size() < kSplitFiles && total < kSplitBytes) loops = 1;
  std::vector<size_t> out(sizes.size(), 0);
  if (loops == 1) return out;
  std::vector<uint64_t> load(loops, 0);
  for (size_t j = 0; j < sizes.size(); ++j) {
    const size_t t =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[t] += std::max<uint64_t>(sizes[j], 1);
    out[j] = t;
  }
  return out;
}

}  // namespace depot
