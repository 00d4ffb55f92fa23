#pragma once
// Small string helpers shared by the parsers. Pure functions, thread-safe.

#include <string_view>

namespace depot {

// `s` without leading and trailing characters from `chars` (default: blanks).
inline std::string_view trim(std::string_view s, std::string_view chars = " \t") {
  const size_t first = s.find_first_not_of(chars);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(chars) - first + 1);
}

}  // namespace depot
