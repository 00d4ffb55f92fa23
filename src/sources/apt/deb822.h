#pragma once
// Push parser for deb822 control data (Packages, Sources, Release): feed() bytes as they
// arrive, finish() at the end; the handler sees each paragraph (stanza) once. No I/O.
// Not thread-safe.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot::apt {

struct Field {
  std::string_view name;
  // Text after the colon, trimmed. A multi-line value keeps its continuation lines, each after
  // a '\n' and still starting with its space or tab.
  std::string_view value;
};

// One paragraph; views are valid only during the handler call.
class Stanza {
 public:
  // The value of field `name` (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<Field>& fields() const { return fields_; }
  size_t line() const { return line_; }  // 1-based line where the paragraph starts

 private:
  friend class Deb822Parser;
  std::vector<Field> fields_;
  size_t line_ = 0;
};

class Deb822Parser {
 public:
  using Handler = std::function<Status(const Stanza&)>;
  // `name` (file or URL) prefixes every error. A paragraph longer than `max_stanza` bytes is an
  // error (bounds memory on hostile input).
  Deb822Parser(std::string name, Handler handler, size_t max_stanza = 16u << 20);

  Status feed(std::string_view data);
  Status finish();

 private:
  Status scan();
  Status emit(size_t begin, size_t end);

  std::string name_;
  Handler handler_;
  size_t max_stanza_;
  std::string buf_;                        // unconsumed bytes
  size_t pos_ = 0;                         // next unscanned line in buf_
  size_t start_ = std::string::npos;       // current paragraph in buf_
  size_t line_ = 1, start_line_ = 0;
  Stanza stanza_;
};

// Splits a multi-line value into its trimmed, non-empty lines.
std::vector<std::string_view> value_lines(std::string_view value);
// Splits on spaces and tabs.
std::vector<std::string_view> words(std::string_view s);

}  // namespace depot::apt
