// serve's request targets: parse_request_target and what serve derives from the path
// (candidate roots, by-hash expectations, package index kinds, content types).

#include "serve_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  depot::fuzz::check_target(text);
  // The raw text as a relative path too (root and pool index lookups see cache keys).
  (void)depot::candidate_roots(text);
  (void)depot::by_hash_expectation(text);
  (void)depot::PoolIndex::registry_of(text);
  (void)depot::RelPath::parse(text);
  return 0;
}
