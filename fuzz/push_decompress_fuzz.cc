// Index decompression while bytes stream (PushDecompressor: gzip, xz, bzip2, zstd or plain,
// detected from the bytes), with a small output cap so decompression bombs stay cheap. Fed
// whole, in pieces, and in pieces after a reset half-way; where it and read_decompressed both
// accept a compressed input they must produce the same bytes.

#include "fuzz_util.h"
#include "core/byte_source.h"
#include "sources/decompress.h"
#include "sources/push_decompress.h"

namespace {

constexpr uint64_t kCap = 16u << 20;

struct Outcome {
  bool ok = false;
  std::string out;
};

depot::ChunkSink append_to(std::string& out) {
  return [&out](std::string_view c) {
    out.append(c);
    return depot::ok_status();
  };
}

Outcome finish(depot::PushDecompressor& d, const std::string& out, depot::Status st) {
  if (st.ok()) st = d.finish();
  if (!st.ok()) depot::fuzz::check(st.error().message.starts_with("index: "), "push: error");
  depot::fuzz::check(out.size() <= kCap, "push: output cap not applied");
  return {st.ok(), out};
}

Outcome push_pieces(std::string_view text, const std::vector<std::string_view>& pieces,
                    bool reset_half_way) {
  std::string out;
  depot::PushDecompressor d("index", append_to(out), kCap);
  if (reset_half_way) {
    for (size_t i = 0; i < pieces.size() / 2; ++i) (void)d.write(pieces[i]);
    (void)d.reset();
    out.clear();
  }
  depot::Status st = depot::ok_status();
  for (std::string_view p : pieces) {
    if (!st.ok()) break;
    st = d.write(p);
  }
  depot::fuzz::check(!st.ok() || d.bytes_written() == text.size(), "push: bytes_written");
  return finish(d, out, st);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  std::string whole_out;
  depot::PushDecompressor whole("index", append_to(whole_out), kCap);
  Outcome w = finish(whole, whole_out, whole.write(text));
  auto pieces = depot::fuzz::split_chunks(text);
  Outcome chunked = push_pieces(text, pieces, false);
  depot::fuzz::check(chunked.ok == w.ok, "push: whole and chunked disagree on success");
  if (w.ok) depot::fuzz::check(chunked.out == w.out, "push: whole and chunked outputs differ");
  Outcome again = push_pieces(text, pieces, true);
  depot::fuzz::check(again.ok == w.ok && (!w.ok || again.out == w.out), "push: reset");

  if (!w.ok || whole.format() == depot::PushDecompressor::Format::kPlain) return 0;
  std::string pulled;
  auto in = depot::memory_source(std::make_shared<const std::string>(text));
  if (depot::read_decompressed(*in, "index", append_to(pulled), kCap).ok()) {
    depot::fuzz::check(pulled == w.out, "push and read_decompressed outputs differ");
  }
  return 0;
}
