#pragma once
// Target: where a mirror is written (a local tree, a bucket, a cluster). Writes are
// transactions: bytes go to a hidden place, and appear under their final name only on commit,
// each file atomically. A transaction dropped before commit leaves nothing visible behind. A
// Target never exposes local paths: what is written is read back through open_read.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/byte_source.h"
#include "core/rel_path.h"
#include "core/result.h"

namespace depot {

struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// How a write transaction will be used.
struct WriteHints {
  // The content is read back (open_read) before commit: an index file a source parses. A target
  // that streams bytes away (object storage) keeps a local copy only for these.
  bool readable = false;
  // The sha256 (hex) the content must have, when known: the caller commits the transaction only
  // after verifying it. A target may store it with the file (see Target::stored_digests).
  std::string sha256 = {};
  // The size the content will have, when known (0: unknown); a target may reserve memory.
  uint64_t size = 0;
};

// One pending file. Not thread-safe.
class WriteTxn : public ByteSink {
 public:
  virtual const RelPath& path() const = 0;
  // Finishes writing. Content is final but not yet durable or visible. Must be called before
  // Target::commit.
  virtual Status close() = 0;
  // The bytes written, from the first; valid after close() until commit or drop, for a
  // transaction begun with WriteHints::readable (others may refuse with kInvalidArgument).
  virtual Result<std::unique_ptr<ByteSource>> open_read() = 0;

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
  virtual Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path,
                                                        const WriteHints& hints) = 0;
  Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path) {
    return begin_write(path, WriteHints{});
  }

  // Makes every closed transaction durable, then makes each visible under its final name,
  // atomically. On error the message names the file, and transactions not yet made visible
  // stay uncommitted (dropped).
  virtual Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) = 0;

  virtual Result<std::optional<FileStat>> stat(const RelPath& path) = 0;
  // Digests the target stored with the committed file `path` when it was written (object
  // metadata), read without reading the file; nullopt when it keeps none (the default) or the
  // file is missing. Lets a lost state be rebuilt without reading every file back.
  virtual Result<std::optional<Digests>> stored_digests(const RelPath&) {
    return std::optional<Digests>();
  }
  // Reads a committed file from its first byte; kNotFound when there is none.
  virtual Result<std::unique_ptr<ByteSource>> open_read(const RelPath& path) = 0;
  // Removes a committed file (and what only held it, such as then-empty directories). Missing
  // is not an error.
  virtual Status remove(const RelPath& path) = 0;
  // Calls `fn` for every committed file (the target's private state excluded).
  virtual Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) = 0;
  // Removes what interrupted runs left behind (temporary files, unfinished uploads). Call only
  // while no other writer uses the target (the caller holds the run lock).
  virtual Status clear_debris() = 0;
};

}  // namespace depot
