#pragma once
// PushDecompressor: read_decompressed turned around. The bytes of a possibly compressed file
// are written as they arrive (it is a ByteSink, e.g. the observer of a download); the format is
// detected from the first bytes, not the name (gzip, several members included; xz, several
// streams included; zstd, several frames included; bzip2, several streams included; anything
// else is plain), and each decompressed chunk goes to a ChunkSink as soon as it is produced.
// Streaming decoders of zlib, liblzma, libzstd and libbz2. lz4 (which read_decompressed takes
// through libarchive) is refused by name. Not thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/byte_sink.h"
#include "core/result.h"
#include "sources/decompress.h"

namespace depot {

class PushDecompressor final : public ByteSink {
 public:
  enum class Format { kUnknown, kPlain, kGzip, kXz, kZstd, kBzip2 };

  // `name` (a URL or path) leads every error. More than `max_bytes` of output is an error
  // (decompression bombs), as with read_decompressed.
  PushDecompressor(std::string name, ChunkSink sink, uint64_t max_bytes = 8ull << 30);
  ~PushDecompressor() override;
  PushDecompressor(const PushDecompressor&) = delete;
  PushDecompressor& operator=(const PushDecompressor&) = delete;

  // Decompresses `data`, passing the output on. The first failure (corrupt data, the bound,
  // the sink's own error, returned as it is) is returned again by every later write() and
  // finish() until reset(). Writing after a successful finish() is an error.
  Status write(std::span<const std::byte> data) override;
  Status write(std::string_view data) { return write(std::as_bytes(std::span(data))); }
  // Back to the first byte (a retried download): format, decoder state, counts and any error
  // are forgotten. What was already passed to the sink is the caller's to discard.
  Status reset() override;
  // Compressed bytes written since the last reset.
  uint64_t bytes_written() const override { return in_bytes_; }

  // The end of the input: flushes the decoder; a stream cut short is a kParse error naming the
  // file ("truncated"). An empty input is an empty plain file.
  Status finish();

  // Decompressed bytes passed to the sink since the last reset.
  uint64_t bytes_out() const { return out_bytes_; }
  // kUnknown until enough bytes came to tell.
  Format format() const { return format_; }

  // One format's streaming decoder (push_decompress.cc).
  class Decoder;

 private:
  Status fail(Error e);
  Status detect_and_feed(std::string_view data, bool at_end);
  Status emit(std::string_view chunk);

  std::string name_;
  ChunkSink sink_;
  uint64_t max_bytes_;
  Format format_ = Format::kUnknown;
  std::string head_;  // first bytes, held until the format is known
  std::unique_ptr<Decoder> decoder_;
  uint64_t in_bytes_ = 0;
  uint64_t out_bytes_ = 0;
  bool finished_ = false;
  std::optional<Error> error_;
};

const char* format_name(PushDecompressor::Format format);

}  // namespace depot
