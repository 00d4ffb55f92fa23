#pragma once
// Target: where a mirror is written. Writes are transactions: bytes go to a hidden temporary
// file, become durable in batches, and appear under their final name only on commit (atomic
// rename). A transaction dropped before commit leaves nothing behind.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/rel_path.h"
#include "core/result.h"

namespace depot {

struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// One pending file. Not thread-safe.
class WriteTxn : public ByteSink {
 public:
  virtual const RelPath& path() const = 0;
  // Finishes writing (flush, close the descriptor). Content is final but not yet durable or
  // visible. Must be called before Target::commit.
  virtual Status close() = 0;
  // Local path of the temporary file (readable after close(), until commit or drop).
  virtual const std::filesystem::path& temp_path() const = 0;

  // Like write(), for a block the caller guarantees is kDirectAlignment-aligned in memory and
  // a multiple of it in size, while every earlier write since the last reset() was such a
  // block too. The implementation may then bypass the page cache (O_DIRECT), saving a copy.
  virtual Status write_aligned(std::span<const std::byte> data) { return write(data); }
};

inline constexpr size_t kDirectAlignment = 4096;

// Thread-safety: begin_write() and operations on WriteTxns may run on one thread while
// commit() runs on another; every other call must not overlap any call.
class Target {
 public:
  virtual ~Target() = default;

  // Human-readable location (directory or URL), for messages.
  virtual std::string describe() const = 0;

  // Opens a write transaction for `path`. The file is invisible until commit.
  virtual Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path) = 0;

  // Makes every closed transaction durable with one batched sync, then renames each into
  // place and syncs the directories touched. Each file appears atomically; on error the
  // message names the file, and transactions not yet renamed stay uncommitted (dropped).
  virtual Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) = 0;

  virtual Result<std::optional<FileStat>> stat(const RelPath& path) = 0;
  // Local filesystem path for reading a committed file, when the target is local.
  virtual std::optional<std::filesystem::path> local_path(const RelPath& path) const = 0;
  // Removes a committed file and then-empty parent directories. Missing is not an error.
  virtual Status remove(const RelPath& path) = 0;
  // Calls `fn` for every committed regular file (the private state directory excluded).
  virtual Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) = 0;
};

// Local filesystem target rooted at `root` (created if missing). Private state lives in
// `root/.depot/` (temporary files in `root/.depot/tmp/`, cleared by clear_temporaries()).
Result<std::unique_ptr<Target>> open_fs_target(const std::filesystem::path& root);

// Removes leftover temporary files of interrupted runs under `root/.depot/tmp/`.
Status clear_fs_temporaries(const std::filesystem::path& root);

}  // namespace depot
