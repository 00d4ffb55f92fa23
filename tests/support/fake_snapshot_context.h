#pragma once
// A SnapshotContext serving URLs from an in-memory map, for source tests. Verifies the
// expected size and digests as the engine does; records every URL asked for.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/digest.h"
#include "sources/source.h"

namespace depot::testing {

class FakeSnapshotContext final : public SnapshotContext {
 public:
  explicit FakeSnapshotContext(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::map<std::string, std::string> files;  // url -> body
  std::vector<std::string> asked;
  std::vector<std::string> accepts;  // the Accept value of each request, in order

  Result<std::optional<FetchedIndex>> fetch_index(const std::string& url, const RelPath& path,
                                                  bool optional, const Digests& expected,
                                                  std::optional<uint64_t> size,
                                                  const std::string& accept = {}) override {
    asked.push_back(url);
    accepts.push_back(accept);
    auto it = files.find(url);
    if (it == files.end()) {
      if (optional) return std::optional<FetchedIndex>();
      return make_error(ErrorCode::kNotFound, url + ": HTTP 404");
    }
    if (size && *size != it->second.size()) {
      return make_error(ErrorCode::kSizeMismatch, url + ": size differs");
    }
    Hasher h(Hasher::mask_for(expected));
    h.update(it->second);
    Digests actual = h.finish();
    DEPOT_TRY(expected.verify(actual, url));
    FetchedIndex f;
    f.content = memory_content(it->second);
    f.size = it->second.size();
    f.digests = actual;
    f.etag = "\"e-" + path.str() + "\"";
    return std::optional<FetchedIndex>(f);
  }
  Logger& logger() override { return null_logger(); }
  std::map<std::string, std::string> committed_files;  // mirror path -> its bytes
  std::shared_ptr<IndexContent> committed(const RelPath& path) override {
    auto it = committed_files.find(path.str());
    if (it == committed_files.end()) return nullptr;
    return memory_content(it->second);
  }
  Result<std::filesystem::path> scratch_dir() override {
    std::filesystem::create_directories(dir_ / "scratch");
    return dir_ / "scratch";
  }
  Result<std::filesystem::path> state_dir() override {
    std::filesystem::create_directories(dir_ / "state");
    return dir_ / "state";
  }

 private:
  std::filesystem::path dir_;
};

// The bytes of an entry's content ("" when it has none).
inline std::string content_of(const Entry& e) {
  if (!e.content) return "";
  auto bytes = read_content(*e.content, e.path.str());
  return bytes.ok() ? *bytes : "";
}

}  // namespace depot::testing
