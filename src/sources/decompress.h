#pragma once
// Streams the content of a possibly compressed index file (gzip, xz, bzip2, zstd, lz4, or
// plain; detected from the bytes, not the name) through libarchive. Thread-safe.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/byte_source.h"
#include "core/result.h"

struct archive;

namespace depot {

// Feeds a libarchive reader from a ByteSource: open(a) instead of archive_read_open_filename.
// Must outlive the reader. Not thread-safe.
class ArchiveFeed {
 public:
  explicit ArchiveFeed(ByteSource& in) : in_(in) {}
  // archive_read_open's result.
  int open(archive* a);
  // The source's read error when one ended the archive, else `fallback`.
  Error error_or(Error fallback) const { return error_ ? *error_ : std::move(fallback); }

 private:
  static long read(archive*, void* self, const void** out);
  ByteSource& in_;
  std::string buf_ = std::string(1 << 16, '\0');
  std::optional<Error> error_;
};

using ChunkSink = std::function<Status(std::string_view)>;

// Calls `sink` with successive decompressed chunks of `file`. `name` (a URL or path) is used in
// error messages. More than `max_bytes` of output is an error (decompression bombs).
Status read_decompressed(const std::filesystem::path& file, const std::string& name,
                         const ChunkSink& sink, uint64_t max_bytes = 8ull << 30);
// The same over the bytes of `in`.
Status read_decompressed(ByteSource& in, const std::string& name, const ChunkSink& sink,
                         uint64_t max_bytes = 8ull << 30);

}  // namespace depot
