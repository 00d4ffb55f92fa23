#pragma once
// CacheTier: a shared second tier behind `depot serve`'s local cache, for blobs (files that
// never change in place: packages, by-hash files, tarballs) — an object store that several
// serve nodes share and that outlives any node's disk. A blob missing from the local cache is
// read from the tier before upstream is asked; a blob fetched from upstream is copied to the
// tier after it was verified and stored locally (TierWriter). The local cache stays the hot
// tier (downloads stream to clients through it) and is the only one --cache-size evicts; the
// tier keeps what it is given (expire objects with the store's own lifecycle rules).
// Thread-safe: every method may be called from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/byte_source.h"
#include "core/result.h"
#include "transfer/downloader.h"

namespace depot {

class CacheTier {
 public:
  virtual ~CacheTier() = default;
  // The URL of the tier's copy of cache key `key`, fetched with options configure() adjusted.
  virtual std::string url(std::string_view key) const = 0;
  // Where `key` lives ("s3://bucket/prefix/key"), for messages.
  virtual std::string describe(std::string_view key) const = 0;
  // Adds what fetching url() needs (request signing) to `options`.
  virtual void configure(DownloadOptions& options) const = 0;
  // Stores the `size` bytes of `in`, whose sha256 (lower-case hex) is `sha256`, under `key`.
  // Atomic: bytes with another digest or size, or a put that fails or is interrupted, leave the
  // previous object (or none) in place. Errors name the object and the cause.
  virtual Status put(std::string_view key, ByteSource& in, uint64_t size,
                     std::string_view sha256) = 0;
};

}  // namespace depot
