#include "pool/chunked_compress.h"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "core/digest.h"

namespace depot::pool {
namespace {

constexpr size_t kMaxPiece = size_t{1} << 30;  // zlib counts in uInt

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// An xz block's size from its unpadded size (the padding makes it a multiple of four).
// `v` <= LZMA_VLI_MAX, so this cannot overflow.
uint64_t ceil4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }

struct DeflateGuard {
  z_stream* z;
  ~DeflateGuard() { deflateEnd(z); }
};

struct IndexDeleter {
  void operator()(lzma_index* i) const { lzma_index_end(i, nullptr); }
};

// Cache file layout: magic (8, the last byte is the format version), kind (1), two numbers and
// the payload length (u64 little-endian each), the lowercase hex sha256 of all of the preceding
// bytes and the payload (64), then the payload.
constexpr std::string_view kMagic = "DPCHUNK1";
constexpr size_t kShaOffset = kMagic.size() + 1 + 3 * 8;
constexpr size_t kHeaderSize = kShaOffset + 64;

std::string sha256_hex(std::string_view head, std::string_view payload) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(head);
  h.update(payload);
  return h.finish().sha256;
}

std::string encode(char kind, uint64_t a, uint64_t b, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  out += kMagic;
  out.push_back(kind);
  put_le(out, a, 8);
  put_le(out, b, 8);
  put_le(out, payload.size(), 8);
  out += sha256_hex(out, payload);
  out += payload;
  return out;
}

struct Decoded {
  uint64_t a = 0, b = 0;
  std::string_view payload;
};

Result<Decoded> decode(std::string_view bytes, char kind, std::string_view what) {
  auto bad = [what](std::string_view why) {
    return make_error(ErrorCode::kParse, std::string(what) + ": " + std::string(why));
  };
  if (bytes.size() < kHeaderSize) {
    return bad("truncated chunk cache file (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) return bad("not a chunk cache file");
  if (bytes[kMagic.size()] != kind) {
    return bad(std::string("chunk cache file of kind '") + bytes[kMagic.size()] +
               "', expected '" + kind + "'");
  }
  Decoded d;
  d.a = get_le64(bytes.substr(kMagic.size() + 1));
  d.b = get_le64(bytes.substr(kMagic.size() + 9));
  uint64_t length = get_le64(bytes.substr(kMagic.size() + 17));
  if (length != bytes.size() - kHeaderSize) {
    return bad("payload of " + std::to_string(bytes.size() - kHeaderSize) +
               " bytes, the header says " + std::to_string(length));
  }
  d.payload = bytes.substr(kHeaderSize);
  if (bytes.substr(kShaOffset, 64) != sha256_hex(bytes.substr(0, kShaOffset), d.payload)) {
    return bad("chunk cache file checksum mismatch");
  }
  return d;
}

}  // namespace

Result<GzipChunk> gzip_chunk(std::string_view data, int level) {
  if (level < 1 || level > 9) {
    return make_error(ErrorCode::kInvalidArgument,
                      "gzip: compression level " + std::to_string(level) + " is not 1..9");
  }
  GzipChunk chunk;
  if (data.empty()) return chunk;
  chunk.size = data.size();
  chunk.crc32 = static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
  z_stream z{};
  // windowBits -15: raw deflate, so the data can sit inside one member with other chunks.
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorCode::kInternal, "gzip: cannot start the compressor");
  }
  DeflateGuard guard{&z};
  std::string& out = chunk.deflate;
  out.resize(deflateBound(&z, static_cast<uLong>(std::min(data.size(), kMaxPiece))) + 64);
  size_t produced = 0;
  for (;;) {
    if (z.avail_in == 0 && !data.empty()) {
      size_t n = std::min(data.size(), kMaxPiece);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      z.avail_in = static_cast<uInt>(n);
      data.remove_prefix(n);
    }
    // More than six bytes of room, so a sync flush is never split (zlib would then repeat the
    // flush marker).
    if (out.size() - produced < 16) out.resize(out.size() * 2);
    size_t room = std::min(out.size() - produced, kMaxPiece);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    // Z_SYNC_FLUSH at the end: the data ends byte-aligned with an empty stored block and no
    // final block, so the next chunk's data can follow directly.
    const bool last = data.empty();
    int rc = deflate(&z, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return make_error(ErrorCode::kInternal, "gzip: deflate failed (" + std::to_string(rc) + ")");
    }
    if (last && z.avail_in == 0 && z.avail_out != 0) break;
  }
  out.resize(produced);
  out.shrink_to_fit();  // a compressed chunk is kept until assembly: no slack for the bound
  return chunk;
}

std::string gzip_assemble(std::span<const GzipChunk* const> chunks) {
  static constexpr unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  size_t total = sizeof kHeader + 2 + 8;
  for (const GzipChunk* c : chunks) total += c->size == 0 ? 0 : c->deflate.size();
  std::string out;
  out.reserve(total);
  out.append(reinterpret_cast<const char*>(kHeader), sizeof kHeader);
  uLong crc = 0;
  uint64_t size = 0;
  for (const GzipChunk* c : chunks) {
    if (c->size == 0) continue;
    out += c->deflate;
    crc = crc32_combine(crc, c->crc32, static_cast<z_off_t>(c->size));
    size += c->size;
  }
  // A final fixed-Huffman block holding only the end-of-block code: bits 1 (BFINAL), 01
  // (BTYPE, LSB first), seven zero bits, then padding to the byte.
  out.push_back('\x03');
  out.push_back('\x00');
  put_le(out, crc, 4);
  put_le(out, size & 0xffffffffu, 4);
  return out;
}

Result<XzChunk> xz_chunk(std::string_view data, uint32_t preset) {
  lzma_options_lzma opt{};
  if ((preset & ~LZMA_PRESET_EXTREME) > 9 || lzma_lzma_preset(&opt, preset)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "xz: preset " + std::to_string(preset) + " is not 0..9 (| extreme)");
  }
  XzChunk chunk;
  if (data.empty()) return chunk;
  // A dictionary larger than the chunk gains nothing and costs memory in every worker (and in
  // the decoder), so it is cut to the chunk's size.
  opt.dict_size = static_cast<uint32_t>(
      std::clamp<uint64_t>(data.size(), LZMA_DICT_SIZE_MIN, opt.dict_size));
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  lzma_block block{};
  block.version = 0;
  block.check = LZMA_CHECK_CRC64;
  block.filters = filters;
  size_t bound = lzma_block_buffer_bound(data.size());
  if (bound == 0) return make_error(ErrorCode::kInvalidArgument, "xz: chunk too large");
  chunk.block.resize(bound);
  size_t pos = 0;
  lzma_ret r = lzma_block_buffer_encode(&block, nullptr,
                                        reinterpret_cast<const uint8_t*>(data.data()),
                                        data.size(), reinterpret_cast<uint8_t*>(chunk.block.data()),
                                        &pos, chunk.block.size());
  if (r != LZMA_OK) {
    return make_error(ErrorCode::kInternal,
                      "xz: block compression failed (liblzma error " + std::to_string(r) + ")");
  }
  chunk.block.resize(pos);
  chunk.block.shrink_to_fit();
  chunk.unpadded_size = lzma_block_unpadded_size(&block);
  chunk.uncompressed_size = block.uncompressed_size;
  if (chunk.unpadded_size == 0 || lzma_block_total_size(&block) != pos ||
      chunk.uncompressed_size != data.size()) {
    return make_error(ErrorCode::kInternal, "xz: inconsistent block sizes from liblzma");
  }
  return chunk;
}

Result<std::string> xz_assemble(std::span<const XzChunk* const> chunks) {
  std::unique_ptr<lzma_index, IndexDeleter> index(lzma_index_init(nullptr));
  if (!index) return make_error(ErrorCode::kInternal, "xz: out of memory");
  size_t total = 2 * LZMA_STREAM_HEADER_SIZE;
  for (const XzChunk* c : chunks) total += c->uncompressed_size == 0 ? 0 : c->block.size();
  std::string out(LZMA_STREAM_HEADER_SIZE, '\0');
  out.reserve(total + 64);
  lzma_stream_flags flags{};
  flags.version = 0;
  flags.check = LZMA_CHECK_CRC64;
  if (lzma_stream_header_encode(&flags, reinterpret_cast<uint8_t*>(out.data())) != LZMA_OK) {
    return make_error(ErrorCode::kInternal, "xz: cannot encode the stream header");
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    const XzChunk& c = *chunks[i];
    if (c.uncompressed_size == 0) continue;
    if (c.unpadded_size == 0 || c.unpadded_size > LZMA_VLI_MAX ||
        ceil4(c.unpadded_size) != c.block.size() ||
        lzma_index_append(index.get(), nullptr, c.unpadded_size, c.uncompressed_size) !=
            LZMA_OK) {
      return make_error(ErrorCode::kInvalidArgument,
                        "xz: chunk " + std::to_string(i) + ": a block of " +
                            std::to_string(c.block.size()) + " bytes with unpadded size " +
                            std::to_string(c.unpadded_size) + " and uncompressed size " +
                            std::to_string(c.uncompressed_size) + " cannot be indexed");
    }
    out += c.block;
  }
  flags.backward_size = lzma_index_size(index.get());
  size_t pos = out.size();
  out.resize(pos + flags.backward_size + LZMA_STREAM_HEADER_SIZE);
  auto* buf = reinterpret_cast<uint8_t*>(out.data());
  if (lzma_index_buffer_encode(index.get(), buf, &pos, out.size()) != LZMA_OK ||
      lzma_stream_footer_encode(&flags, buf + pos) != LZMA_OK) {
    return make_error(ErrorCode::kInternal, "xz: cannot encode the stream index or footer");
  }
  pos += LZMA_STREAM_HEADER_SIZE;
  out.resize(pos);
  return out;
}

std::string encode_chunk(const GzipChunk& chunk) {
  return encode('G', chunk.crc32, chunk.size, chunk.deflate);
}

std::string encode_chunk(const XzChunk& chunk) {
  return encode('X', chunk.unpadded_size, chunk.uncompressed_size, chunk.block);
}

Result<GzipChunk> decode_gzip_chunk(std::string_view bytes, std::string_view what) {
  DEPOT_ASSIGN_OR_RETURN(Decoded d, decode(bytes, 'G', what));
  // A size beyond z_off_t would reach crc32_combine as a negative length (zlib then loops
  // forever).
  if (d.a > 0xffffffffu || d.b > static_cast<uint64_t>(std::numeric_limits<z_off_t>::max()) ||
      (d.b == 0) != d.payload.empty() || (d.b == 0 && d.a != 0)) {
    return make_error(ErrorCode::kParse, std::string(what) + ": inconsistent gzip chunk");
  }
  return GzipChunk{std::string(d.payload), static_cast<uint32_t>(d.a), d.b};
}

Result<XzChunk> decode_xz_chunk(std::string_view bytes, std::string_view what) {
  DEPOT_ASSIGN_OR_RETURN(Decoded d, decode(bytes, 'X', what));
  bool empty = d.b == 0;
  if (empty ? (d.a != 0 || !d.payload.empty())
            : (d.a == 0 || d.a > LZMA_VLI_MAX || d.b > LZMA_VLI_MAX ||
               ceil4(d.a) != d.payload.size())) {
    return make_error(ErrorCode::kParse, std::string(what) + ": inconsistent xz chunk");
  }
  return XzChunk{std::string(d.payload), d.a, d.b};
}

}  // namespace depot::pool
