// Index decompression (gzip, xz, bzip2, zstd, lz4 or plain, detected from the bytes) through
// read_decompressed, with a small output cap so decompression bombs stay cheap.

#include "fuzz_util.h"
#include "sources/decompress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  depot::fuzz::MemFile file(depot::fuzz::as_text(data, size));
  constexpr uint64_t kCap = 16u << 20;
  uint64_t total = 0;
  auto st = depot::read_decompressed(
      file.path(), "index",
      [&](std::string_view chunk) {
        total += chunk.size();
        return depot::ok_status();
      },
      kCap);
  depot::fuzz::check(total <= kCap + (1u << 20), "decompress: output cap not applied");
  if (!st.ok()) depot::fuzz::check(st.error().message.starts_with("index"), "decompress: error");
  return 0;
}
