// The publisher's on-disk chunk cache entries (pool/chunked_compress.h): decode_gzip_chunk and
// decode_xz_chunk, then assembly into a gzip member or xz stream. The input is used as it is
// and, re-sealed, as a cache file whose checksum matches: its first 33 bytes are the header
// before the checksum (magic, kind, two numbers, payload length), the rest the payload; the
// harness inserts the sha256, so the checks behind the checksum are reached. What decodes must
// encode back to the same bytes.

#include <string>

#include "core/digest.h"
#include "fuzz_util.h"
#include "pool/chunked_compress.h"

namespace {

constexpr size_t kHeadSize = 8 + 1 + 3 * 8;

void decode(std::string_view bytes) {
  if (auto gz = depot::pool::decode_gzip_chunk(bytes, "cache"); gz.ok()) {
    depot::fuzz::check(depot::pool::encode_chunk(*gz) == bytes, "chunk: gzip decode/encode");
    const depot::pool::GzipChunk* two[] = {&*gz, &*gz};
    (void)depot::pool::gzip_assemble(two);
  }
  if (auto xz = depot::pool::decode_xz_chunk(bytes, "cache"); xz.ok()) {
    depot::fuzz::check(depot::pool::encode_chunk(*xz) == bytes, "chunk: xz decode/encode");
    const depot::pool::XzChunk* two[] = {&*xz, &*xz};
    (void)depot::pool::xz_assemble(two);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = depot::fuzz::as_text(data, size);
  decode(input);
  if (input.size() < kHeadSize) return 0;
  std::string sealed(input.substr(0, kHeadSize));
  depot::Hasher h(depot::digest_bit(depot::DigestAlgo::kSha256));
  h.update(sealed);
  h.update(input.substr(kHeadSize));
  sealed += h.finish().sha256;
  sealed += input.substr(kHeadSize);
  decode(sealed);
  return 0;
}
