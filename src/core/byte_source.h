#pragma once
// A source of bytes read front to back (a file, a buffer, an object in a bucket): what a Target
// hands back for reading, and what parsers and digests consume. Not thread-safe: one reader.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/digest.h"
#include "core/result.h"
#include "core/unique_fd.h"

namespace depot {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to `buf.size()` bytes; 0 means the end. Errors name the file or object.
  virtual Result<size_t> read(std::span<std::byte> buf) = 0;
};

// Reads `file` (a local file). Errors name `name` (the URL or path it stands for) and the file.
Result<std::unique_ptr<ByteSource>> open_file_source(const std::filesystem::path& file,
                                                     std::string_view name);
// Reads the open file `fd` from its current offset; errors name `name`.
std::unique_ptr<ByteSource> fd_source(UniqueFd fd, std::string name);
// Reads a shared buffer (kept alive by the source).
std::unique_ptr<ByteSource> memory_source(std::shared_ptr<const std::string> bytes);

// Everything left in `in`; more than `max_bytes` is a kParse error naming `name`.
Result<std::string> read_all(ByteSource& in, std::string_view name,
                             uint64_t max_bytes = 512ull << 20);
// Calls `fn` with successive chunks until the end.
Status for_each_chunk(ByteSource& in, const std::function<Status(std::string_view)>& fn);
// The digests `algos` (a mask of digest_bit()s) of everything left in `in`, and its size.
Result<std::pair<Digests, uint64_t>> hash_source(ByteSource& in, unsigned algos);

}  // namespace depot
