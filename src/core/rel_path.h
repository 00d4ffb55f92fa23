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

// String forms of RelPath::filename/parent/joining, for relative paths held as plain strings
// ("a/b/c"). No validation: callers pass paths they already checked or built.
std::string_view rel_filename(std::string_view rel);  // "c"; the whole text without a '/'
std::string_view rel_parent(std::string_view rel);    // "a/b"; "" for a top-level entry
std::string rel_join(std::string_view dir, std::string_view name);  // "dir/name", or name

// Printable form of untrusted text for error messages (control bytes escaped, length capped).
std::string quote_untrusted(std::string_view text);

}  // namespace depot
