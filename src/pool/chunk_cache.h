#pragma once
// ChunkCache: compressed chunks of index files on disk, by key (a hex digest of the chunk's
// input plus the compressor and its level, see packages_file.cc), so that a publication
// recompresses only the chunks whose packages changed.
//
//   <dir>/<key[0:2]>/<key>     one chunk as encode_chunk wrote it
//
// A cache, not a store: writes are temp file + rename without fsync, a torn or damaged file is
// caught by decode_*_chunk (which checks a digest of the payload) and recomputed, and a failed
// write is ignored. get() refreshes the file's mtime; prune() removes what was not used
// lately. Thread-safe (every operation is one file operation on a unique path); several
// processes may share a directory.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace depot::pool {

class ChunkCache {
 public:
  explicit ChunkCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  // The bytes stored under `key` (a name of [0-9a-z.-] only), or nothing.
  std::optional<std::string> get(std::string_view key) const;
  void put(std::string_view key, std::string_view bytes) const;
  // Removes chunks (and stray temporaries) not used, got or put, for `unused_for`; returns how
  // many.
  uint64_t prune(std::chrono::seconds unused_for) const;

 private:
  std::filesystem::path path_of(std::string_view key) const;
  std::filesystem::path dir_;
};

}  // namespace depot::pool
