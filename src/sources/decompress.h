#pragma once
// Streams the content of a possibly compressed index file (gzip, xz, bzip2, zstd, lz4, or
// plain; detected from the bytes, not the name) through libarchive. Thread-safe.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

using ChunkSink = std::function<Status(std::string_view)>;

// Calls `sink` with successive decompressed chunks of `file`. `name` (a URL or path) is used in
// error messages. More than `max_bytes` of output is an error (decompression bombs).
Status read_decompressed(const std::filesystem::path& file, const std::string& name,
                         const ChunkSink& sink, uint64_t max_bytes = 8ull << 30);

}  // namespace depot
