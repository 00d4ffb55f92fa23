#include "pool/chunk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "core/file_io.h"

namespace depot::pool {
namespace fs = std::filesystem;

fs::path ChunkCache::path_of(std::string_view key) const {
  return dir_ / std::string(key.substr(0, 2)) / std::string(key);
}

std::optional<std::string> ChunkCache::get(std::string_view key) const {
  if (dir_.empty() || key.size() < 2) return std::nullopt;
  const fs::path p = path_of(key);
  auto bytes = read_whole_file(p, p.string());
  if (!bytes.ok()) return std::nullopt;
  ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
  return std::move(bytes).value();
}

void ChunkCache::put(std::string_view key, std::string_view bytes) const {
  if (dir_.empty() || key.size() < 2) return;
  static std::atomic<uint64_t> counter{0};
  const fs::path p = path_of(key);
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) return;
  fs::path tmp = p.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(counter++) + "-" + std::string(key));
  if (!write_whole_file(tmp, bytes).ok() || ::rename(tmp.c_str(), p.c_str()) != 0) {
    ::unlink(tmp.c_str());
  }
}

uint64_t ChunkCache::prune(std::chrono::seconds unused_for) const {
  if (dir_.empty()) return 0;
  const auto cutoff = std::chrono::system_clock::now() - unused_for;
  uint64_t removed = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    auto mtime = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    if (mtime < cutoff && ::unlink(it->path().c_str()) == 0) removed++;
  }
  return removed;
}

}  // namespace depot::pool
