#pragma once
// RelPath: a validated relative path that cannot escape the directory it is joined to.
// Refused: empty, absolute, "." or ".." components, empty components ("a//b"), NUL or other
// control characters, backslashes, and components that start with ".depot" at the top level
// (the mirror's private state directory).

#include <compare>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

class RelPath {
 public:
  // Validates `text`; the error names `text` (escaped for printing).
  static Result<RelPath> parse(std::string_view text);

  const std::string& str() const { return path_; }
  std::string_view filename() const;
  std::string parent() const;  // "" for a top-level entry

  // Joins a validated relative suffix; fails if the result is unsafe.
  Result<RelPath> join(std::string_view suffix) const;

  friend auto operator<=>(const RelPath&, const RelPath&) = default;

 private:
  explicit RelPath(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Printable form of untrusted text for error messages (control bytes escaped, length capped).
std::string quote_untrusted(std::string_view text);

}  // namespace depot
