// Signature plumbing: dearmor (ASCII-armored keyrings) and the verdict on gpgv's status output.
// A verdict of "verified" needs GOODSIG and VALIDSIG status lines.

#include <string>

#include "fuzz_util.h"
#include "sources/gpgv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  (void)depot::dearmor(text, "keyring.asc");
  const int exit_code = size > 0 ? data[0] % 3 : 0;
  auto st = depot::check_gpgv_status(text, exit_code, text.substr(0, 600), "InRelease");
  if (st.ok()) {
    depot::fuzz::check(exit_code == 0 && text.find("GOODSIG") != std::string::npos &&
                           text.find("VALIDSIG") != std::string::npos,
                       "gpgv: verified without GOODSIG, VALIDSIG and exit 0");
  } else {
    depot::fuzz::check(st.error().message.size() < 2000, "gpgv: unbounded error message");
  }
  return 0;
}
