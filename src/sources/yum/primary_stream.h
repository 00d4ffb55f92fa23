#pragma once
// PrimaryStream: primary.xml.* of a yum repository read as its bytes arrive. A ByteSink that
// decompresses (PushDecompressor), counts and hashes the decompressed bytes against repomd.xml's
// open-size and open-checksum, and parses them (PrimaryParser) into the blob entries of the
// packages, held here. It is the observer of primary's download (reset() before a retry starts
// it over from byte 0), or is fed the stored copy when the download did not stream through it
// (a 304); finish() makes every check either way. Not thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/result.h"
#include "sources/source.h"
#include "sources/yum/repomd.h"

namespace depot::yum {

class PrimaryStream final : public ByteSink {
 public:
  // `url` names primary in errors; `upstream` is the repository root the packages' URLs join;
  // `data` is primary's <data> in repomd.xml (kept by reference). More than `max_bytes`
  // decompressed is an error.
  PrimaryStream(std::string url, std::string upstream, const RepomdData& data,
                uint64_t max_bytes = 8ull << 30);
  ~PrimaryStream() override;
  PrimaryStream(const PrimaryStream&) = delete;
  PrimaryStream& operator=(const PrimaryStream&) = delete;

  // Never fails: the first error (corrupt compression, bad XML, a refused package) is kept for
  // finish() and later bytes are ignored, so the download completes and its own checks (size,
  // checksum of the compressed file) are reported first when both fail.
  Status write(std::span<const std::byte> data) override;
  // Forgets everything seen: entries, counts, decoder and parser state, a kept error.
  Status reset() override;
  // Compressed bytes seen since the last reset.
  uint64_t bytes_written() const override;

  // Packages parsed so far.
  uint64_t packages() const;

  // The end of the file: a truncated stream, unfinished XML, a <metadata packages> count, the
  // open-size and the open-checksum are checked. On success, the blob entries of the packages
  // (deduplicated by path, in document order), once.
  Result<std::vector<Entry>> finish();

 private:
  struct State;
  std::string url_, upstream_;
  const RepomdData& data_;
  uint64_t max_bytes_;
  std::unique_ptr<State> state_;
};

}  // namespace depot::yum
