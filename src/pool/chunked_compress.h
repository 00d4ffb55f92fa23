#pragma once
// Compression of a large index in independent chunks whose results are concatenated into ONE
// ordinary file: a single gzip member (RFC 1952) or a single xz stream with one block per
// chunk. Each chunk depends only on its own bytes and level/preset, so a caller can compress
// chunks in parallel and cache them (keyed by the sha256 of the chunk's input); assembling
// unchanged chunks again yields the same bytes. Everything here is deterministic.
// Thread-safe (no shared state); the functions may run concurrently on different inputs.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot::pool {

// One chunk as raw deflate data: no header, no preset dictionary, ended by a sync flush (byte
// aligned, no final block), back-references only within the chunk. Empty input gives an empty
// `deflate`, crc32 0 and size 0.
struct GzipChunk {
  std::string deflate;
  uint32_t crc32 = 0;  // of the input
  uint64_t size = 0;   // input bytes
  friend bool operator==(const GzipChunk&, const GzipChunk&) = default;
};
// `level` 1..9 (as gzip -1..-9); anything else is kInvalidArgument.
Result<GzipChunk> gzip_chunk(std::string_view data, int level);

// One gzip member of the chunks' inputs in order: the 10-byte header (no name, mtime 0, XFL 0,
// OS 3), each chunk's deflate data (chunks of size 0 are left out), an empty final fixed
// Huffman block, then CRC32 and ISIZE. No chunks: a gzip of empty input.
std::string gzip_assemble(std::span<const GzipChunk* const> chunks);

// One chunk as a complete xz block (header, LZMA2 data, padding, CRC64) with the two sizes the
// stream index records. Empty input gives an empty `block` and zero sizes.
struct XzChunk {
  std::string block;
  uint64_t unpadded_size = 0;      // block header + compressed data + check, without padding
  uint64_t uncompressed_size = 0;  // input bytes
  friend bool operator==(const XzChunk&, const XzChunk&) = default;
};
// `preset` 0..9, optionally | LZMA_PRESET_EXTREME; anything else is kInvalidArgument.
Result<XzChunk> xz_chunk(std::string_view data, uint32_t preset);

// One xz stream (CRC64 check) with one block per chunk in order; chunks with uncompressed_size
// 0 are left out. No chunks: an xz of empty input. kInvalidArgument when a chunk's sizes do not
// fit its block.
Result<std::string> xz_assemble(std::span<const XzChunk* const> chunks);

// A chunk as bytes for an on-disk cache: a magic with a format version, the kind, the chunk's
// numbers, the payload length, the sha256 of all of that together with the payload, then the
// payload. decode_* checks all of it and returns kParse naming `what` for a file that is torn,
// truncated, extended, altered or of the other kind.
std::string encode_chunk(const GzipChunk& chunk);
std::string encode_chunk(const XzChunk& chunk);
Result<GzipChunk> decode_gzip_chunk(std::string_view bytes, std::string_view what);
Result<XzChunk> decode_xz_chunk(std::string_view bytes, std::string_view what);

}  // namespace depot::pool
