// Ed patches as the pdiff builder verifies them (pool/ed_patch.h): apply_ed_patch on a base and
// a script split at the input's first NUL (no NUL: an empty base). What applies is no larger
// than base and script together; the empty script gives the base back; applying the same
// script again to the same base gives the same bytes.

#include <string>

#include "fuzz_util.h"
#include "pool/ed_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = depot::fuzz::as_text(data, size);
  size_t nul = input.find('\0');
  std::string_view base = nul == std::string_view::npos ? std::string_view() : input.substr(0, nul);
  std::string_view patch = nul == std::string_view::npos ? input : input.substr(nul + 1);
  auto out = depot::pool::apply_ed_patch(base, patch);
  if (out.ok()) {
    depot::fuzz::check(out->size() <= base.size() + patch.size(), "ed_patch: output too large");
    auto again = depot::pool::apply_ed_patch(base, patch);
    depot::fuzz::check(again.ok() && *again == *out, "ed_patch: not deterministic");
  }
  auto same = depot::pool::apply_ed_patch(base, "");
  depot::fuzz::check(same.ok() && *same == base, "ed_patch: empty script changed the base");
  (void)depot::pool::has_bare_dot_line(input);
  return 0;
}
