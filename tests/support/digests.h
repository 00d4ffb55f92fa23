#pragma once
// Test helpers: digests of in-memory content.

#include <string>
#include <string_view>

#include "core/digest.h"

namespace depot::testing {

// md5, sha1, sha256 and sha512 of `data`.
inline Digests all_digests(std::string_view data) {
  Hasher h(Hasher::kAllAlgorithms);
  h.update(data);
  return h.finish();
}

}  // namespace depot::testing
