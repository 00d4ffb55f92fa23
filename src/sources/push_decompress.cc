#include "sources/push_decompress.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>

namespace depot {
namespace {

using Format = PushDecompressor::Format;

constexpr std::string_view kGzipMagic("\x1f\x8b", 2);
constexpr std::string_view kXzMagic("\xfd" "7zXZ\0", 6);
constexpr std::string_view kZstdMagic("\x28\xb5\x2f\xfd", 4);
constexpr std::string_view kLz4Magic("\x04\x22\x4d\x18", 4);
constexpr std::string_view kBzip2Magic("BZh", 3);
// After "BZh" and the block size digit: the first block's magic, or the end of an empty stream.
constexpr std::string_view kBzip2Block("\x31\x41\x59\x26\x53\x59", 6);
constexpr std::string_view kBzip2End("\x17\x72\x45\x38\x50\x90", 6);
constexpr size_t kHeadMax = 10;  // the longest signature: bzip2's

constexpr size_t kOutChunk = 128 << 10;
constexpr size_t kMaxFeed = 1 << 30;           // zlib and libbz2 count input in 32 bits
constexpr uint64_t kXzMemLimit = 1ull << 30;  // as libarchive's xz reader

// True when `head` and `sig` agree on their common length.
bool agrees(std::string_view head, std::string_view sig) {
  size_t n = std::min(head.size(), sig.size());
  return head.substr(0, n) == sig.substr(0, n);
}

// 0: `head` cannot be bzip2; 1: it may be, with more bytes; 2: it is.
int bzip2_match(std::string_view head) {
  if (!agrees(head, kBzip2Magic)) return 0;
  if (head.size() > 3 && (head[3] < '1' || head[3] > '9')) return 0;
  std::string_view rest = head.size() > 4 ? head.substr(4) : std::string_view();
  if (!agrees(rest, kBzip2Block) && !agrees(rest, kBzip2End)) return 0;
  return head.size() >= kHeadMax ? 2 : 1;
}

// The format `head` (the first bytes) shows; nullopt while more bytes could change the answer.
// At the end of the input a partial signature is plain data. kUnknown: lz4 (refused).
std::optional<Format> detect(std::string_view head, bool at_end) {
  struct Sig {
    std::string_view magic;
    Format format;
  };
  static constexpr std::array<Sig, 4> kSigs = {{{kGzipMagic, Format::kGzip},
                                                {kXzMagic, Format::kXz},
                                                {kZstdMagic, Format::kZstd},
                                                {kLz4Magic, Format::kUnknown}}};
  bool undecided = false;
  for (const Sig& s : kSigs) {
    if (head.starts_with(s.magic)) return s.format;
    undecided |= agrees(head, s.magic);
  }
  int bz = bzip2_match(head);
  if (bz == 2) return Format::kBzip2;
  undecided |= bz == 1;
  if (undecided && !at_end) return std::nullopt;
  return Format::kPlain;
}

}  // namespace

const char* format_name(Format format) {
  switch (format) {
    case Format::kUnknown: return "unknown";
    case Format::kPlain: return "plain";
    case Format::kGzip: return "gzip";
    case Format::kXz: return "xz";
    case Format::kZstd: return "zstd";
    case Format::kBzip2: return "bzip2";
  }
  return "unknown";
}

// A streaming decoder of one format, writing through its owner's emit (which applies the bound
// and calls the sink).
class PushDecompressor::Decoder {
 public:
  Decoder(PushDecompressor& owner, Format format) : owner_(owner), format_(format) {}
  virtual ~Decoder() = default;
  // Decodes all of `in` (at most kMaxFeed bytes).
  virtual Status feed(std::string_view in) = 0;
  // The end of the input: an unfinished stream is an error.
  virtual Status finish() = 0;

 protected:
  Status emit(size_t n) { return owner_.emit(std::string_view(out_.data(), n)); }
  char* out() { return out_.data(); }
  static constexpr size_t out_size() { return kOutChunk; }
  Error corrupt(std::string_view why) const {
    return make_error(ErrorCode::kParse, owner_.name_ + ": corrupt " + format_name(format_) +
                                             " data" + (why.empty() ? "" : ": ") +
                                             std::string(why));
  }
  Error truncated() const {
    return make_error(ErrorCode::kParse, owner_.name_ + ": truncated " + format_name(format_) +
                                             " data (the file ends inside a stream)");
  }
  Error internal(std::string_view what) const {
    return make_error(ErrorCode::kInternal, owner_.name_ + ": " + std::string(what));
  }

 private:
  PushDecompressor& owner_;
  Format format_;
  std::string out_ = std::string(kOutChunk, '\0');
};

namespace {

// gzip and bzip2: streams a library decodes one at a time. After one ends, bytes starting with
// the signature begin another (pigz, pbzip2, cat a.gz b.gz); anything else is trailing data,
// ignored as gzip(1), zlib's gzread and libarchive do.
class MemberDecoder : public PushDecompressor::Decoder {
 public:
  MemberDecoder(PushDecompressor& owner, Format format, std::string_view magic)
      : Decoder(owner, format), magic_(magic) {}

  Status feed(std::string_view in) override {
    while (!in.empty()) {
      if (state_ == State::kTrailing) return ok_status();
      if (state_ == State::kBetween) {
        size_t take = std::min(in.size(), magic_.size() - next_.size());
        next_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (!agrees(next_, magic_)) {
          state_ = State::kTrailing;
          return ok_status();
        }
        if (next_.size() < magic_.size()) return ok_status();
        DEPOT_TRY(start_member());
        state_ = State::kMember;
        std::string sig = std::move(next_);
        next_.clear();
        DEPOT_ASSIGN_OR_RETURN(size_t used, decode(sig));
        if (used != sig.size()) return corrupt("");  // cannot end within its signature
        continue;
      }
      DEPOT_ASSIGN_OR_RETURN(size_t used, decode(in));
      in.remove_prefix(used);
    }
    return ok_status();
  }

  Status finish() override {
    return state_ == State::kMember ? Status(truncated()) : ok_status();
  }

 protected:
  // Prepares the library for a new member (the first included).
  virtual Status start_member() = 0;
  // Decodes from `in` until it is used up or the member ends (then member_ended()); returns
  // how many bytes it used.
  virtual Result<size_t> decode(std::string_view in) = 0;
  void member_ended() { state_ = State::kBetween; }

 private:
  enum class State { kMember, kBetween, kTrailing };
  std::string_view magic_;
  std::string next_;  // the first bytes after a member, until they show a signature or not
  State state_ = State::kMember;
};

class GzipDecoder final : public MemberDecoder {
 public:
  explicit GzipDecoder(PushDecompressor& owner) : MemberDecoder(owner, Format::kGzip, kGzipMagic) {}
  ~GzipDecoder() override {
    if (init_) inflateEnd(&z_);
  }

 protected:
  Status start_member() override {
    if (init_) return inflateReset(&z_) == Z_OK ? ok_status() : Status(internal("inflateReset failed"));
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) return internal("inflateInit2 failed");
    init_ = true;
    return ok_status();
  }

  Result<size_t> decode(std::string_view in) override {
    if (!init_) DEPOT_TRY(start_member());
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(out());
      z_.avail_out = static_cast<uInt>(out_size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      DEPOT_TRY(emit(out_size() - z_.avail_out));
      if (rc == Z_STREAM_END) {
        member_ended();
        break;
      }
      if (rc == Z_BUF_ERROR) break;  // wants more input
      if (rc != Z_OK) return corrupt(z_.msg ? z_.msg : "inflate failed");
      if (z_.avail_in == 0 && z_.avail_out != 0) break;
    }
    return in.size() - z_.avail_in;
  }

 private:
  z_stream z_{};
  bool init_ = false;
};

class Bzip2Decoder final : public MemberDecoder {
 public:
  explicit Bzip2Decoder(PushDecompressor& owner)
      : MemberDecoder(owner, Format::kBzip2, kBzip2Magic) {}
  ~Bzip2Decoder() override {
    if (init_) BZ2_bzDecompressEnd(&s_);
  }

 protected:
  Status start_member() override {
    if (init_) BZ2_bzDecompressEnd(&s_);
    s_ = {};
    init_ = BZ2_bzDecompressInit(&s_, 0, 0) == BZ_OK;
    return init_ ? ok_status() : Status(internal("BZ2_bzDecompressInit failed"));
  }

  Result<size_t> decode(std::string_view in) override {
    if (!init_) DEPOT_TRY(start_member());
    s_.next_in = const_cast<char*>(in.data());
    s_.avail_in = static_cast<unsigned>(in.size());
    for (;;) {
      s_.next_out = out();
      s_.avail_out = static_cast<unsigned>(out_size());
      int rc = BZ2_bzDecompress(&s_);
      DEPOT_TRY(emit(out_size() - s_.avail_out));
      if (rc == BZ_STREAM_END) {
        member_ended();
        break;
      }
      if (rc != BZ_OK) return corrupt(bz_error(rc));
      if (s_.avail_in == 0 && s_.avail_out != 0) break;
    }
    return in.size() - s_.avail_in;
  }

 private:
  static const char* bz_error(int rc) {
    switch (rc) {
      case BZ_DATA_ERROR: return "data integrity error";
      case BZ_DATA_ERROR_MAGIC: return "bad stream signature";
      case BZ_MEM_ERROR: return "out of memory";
      default: return "BZ2_bzDecompress failed";
    }
  }
  bz_stream s_{};
  bool init_ = false;
};

// xz: liblzma decodes concatenated streams and their padding itself (LZMA_CONCATENATED).
class XzDecoder final : public PushDecompressor::Decoder {
 public:
  explicit XzDecoder(PushDecompressor& owner) : Decoder(owner, Format::kXz) {}
  ~XzDecoder() override { lzma_end(&s_); }

  Status feed(std::string_view in) override { return code(in, LZMA_RUN); }
  Status finish() override { return code({}, LZMA_FINISH); }

 private:
  Status code(std::string_view in, lzma_action action) {
    if (!init_) {
      if (lzma_stream_decoder(&s_, kXzMemLimit, LZMA_CONCATENATED) != LZMA_OK) {
        return internal("lzma_stream_decoder failed");
      }
      init_ = true;
    }
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    for (;;) {
      s_.next_out = reinterpret_cast<uint8_t*>(out());
      s_.avail_out = out_size();
      lzma_ret rc = lzma_code(&s_, action);
      DEPOT_TRY(emit(out_size() - s_.avail_out));
      if (rc == LZMA_STREAM_END) return ok_status();
      if (rc == LZMA_BUF_ERROR && action == LZMA_FINISH) return truncated();
      if (rc == LZMA_MEMLIMIT_ERROR) return corrupt("needs more than 1 GiB of memory to decode");
      if (rc != LZMA_OK) return corrupt(lzma_error(rc));
      // LZMA_FINISH goes on until the end is found or refused (liblzma's LZMA_BUF_ERROR).
      if (action == LZMA_RUN && s_.avail_in == 0 && s_.avail_out != 0) return ok_status();
    }
  }
  static const char* lzma_error(lzma_ret rc) {
    switch (rc) {
      case LZMA_FORMAT_ERROR: return "not in the xz format";
      case LZMA_OPTIONS_ERROR: return "unsupported options";
      case LZMA_DATA_ERROR: return "data is corrupt";
      case LZMA_BUF_ERROR: return "unexpected end of input";
      case LZMA_MEM_ERROR: return "out of memory";
      case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
      default: return "lzma_code failed";
    }
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool init_ = false;
};

// zstd: ZSTD_decompressStream decodes concatenated and skippable frames itself.
class ZstdDecoder final : public PushDecompressor::Decoder {
 public:
  explicit ZstdDecoder(PushDecompressor& owner) : Decoder(owner, Format::kZstd) {}
  ~ZstdDecoder() override { ZSTD_freeDCtx(d_); }

  Status feed(std::string_view in) override {
    if (!d_ && !(d_ = ZSTD_createDCtx())) return internal("ZSTD_createDCtx failed");
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer ob{out(), out_size(), 0};
      size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
      if (ZSTD_isError(rc)) return corrupt(ZSTD_getErrorName(rc));
      DEPOT_TRY(emit(ob.pos));
      in_frame_ = rc != 0;  // 0: a frame ended and everything it held was flushed
      if (ib.pos == ib.size && ob.pos < ob.size) return ok_status();
    }
  }
  Status finish() override { return in_frame_ ? Status(truncated()) : ok_status(); }

 private:
  ZSTD_DCtx* d_ = nullptr;
  bool in_frame_ = false;
};

}  // namespace

PushDecompressor::PushDecompressor(std::string name, ChunkSink sink, uint64_t max_bytes)
    : name_(std::move(name)), sink_(std::move(sink)), max_bytes_(max_bytes) {}

PushDecompressor::~PushDecompressor() = default;

Status PushDecompressor::fail(Error e) {
  error_ = e;
  return e;
}

Status PushDecompressor::write(std::span<const std::byte> data) {
  if (error_) return *error_;
  if (finished_) {
    return fail(make_error(ErrorCode::kInternal, name_ + ": written after its end"));
  }
  in_bytes_ += data.size();
  std::string_view in(reinterpret_cast<const char*>(data.data()), data.size());
  Status st = detect_and_feed(in, false);
  return st.ok() ? st : fail(st.error());
}

Status PushDecompressor::reset() {
  format_ = Format::kUnknown;
  head_.clear();
  decoder_.reset();
  in_bytes_ = 0;
  out_bytes_ = 0;
  finished_ = false;
  error_.reset();
  return ok_status();
}

Status PushDecompressor::finish() {
  if (error_) return *error_;
  if (finished_) return ok_status();
  Status st = detect_and_feed({}, true);
  if (st.ok() && decoder_) st = decoder_->finish();
  if (!st.ok()) return fail(st.error());
  finished_ = true;
  return ok_status();
}

Status PushDecompressor::detect_and_feed(std::string_view in, bool at_end) {
  if (format_ == Format::kUnknown) {
    size_t take = std::min(in.size(), kHeadMax - head_.size());
    head_.append(in.substr(0, take));
    in.remove_prefix(take);
    std::optional<Format> f = detect(head_, at_end);
    if (!f) return ok_status();  // too few bytes yet (and `in` is used up)
    switch (*f) {
      case Format::kUnknown:  // lz4
        return make_error(ErrorCode::kParse,
                          name_ + ": lz4-compressed; only gzip, xz, zstd, bzip2 or plain "
                                  "files are decompressed while they stream");
      case Format::kPlain: break;
      case Format::kGzip: decoder_ = std::make_unique<GzipDecoder>(*this); break;
      case Format::kXz: decoder_ = std::make_unique<XzDecoder>(*this); break;
      case Format::kZstd: decoder_ = std::make_unique<ZstdDecoder>(*this); break;
      case Format::kBzip2: decoder_ = std::make_unique<Bzip2Decoder>(*this); break;
    }
    format_ = *f;
    std::string head = std::move(head_);
    head_.clear();
    DEPOT_TRY(detect_and_feed(head, false));
  }
  while (!in.empty()) {
    std::string_view piece = in.substr(0, kMaxFeed);
    in.remove_prefix(piece.size());
    DEPOT_TRY(decoder_ ? decoder_->feed(piece) : emit(piece));
  }
  return ok_status();
}

Status PushDecompressor::emit(std::string_view chunk) {
  if (chunk.empty()) return ok_status();
  if (chunk.size() > max_bytes_ - out_bytes_) {
    return make_error(ErrorCode::kParse, name_ + ": decompresses to more than " +
                                             std::to_string(max_bytes_) + " bytes");
  }
  out_bytes_ += chunk.size();
  return sink_(chunk);
}

}  // namespace depot
