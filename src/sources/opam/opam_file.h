#pragma once
// opam's file format (opam files, `url` files of opam 1.2, `repo` files) parsed
// into a tree of fields and sections, and the archives a package's file names.
// Pure; thread-safe.
//
// Syntax (opam manual, "Common file format"): a file is a sequence of items; an
// item is a field `IDENT : value` or a section `IDENT ["name"] { items }`.
// Values are strings ("..." with
// \\ \" \n \r \t \b \xHH \DDD escapes and backslash-newline continuations, or
// """...""" raw strings), idents, integers, booleans, lists `[ values ]`,
// groups `( values )`, a value with an option `value { values }`, prefix
// operators (! ? and relations) and infix operators
// (& | = != < <= > >= += -= := =+ =:). Comments: `# to end of line` and nested
// `(* ... *)`.

#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/result.h"

namespace depot::opam {

struct Value {
  enum class Kind { kString, kIdent, kInt, kBool, kList, kGroup, kOption, kPrefix, kInfix };
  Kind kind = Kind::kIdent;
  std::string text;          // string contents, ident, digits, "true"/"false", or the operator
  std::vector<Value> items;  // list/group elements; option: value then filters; operands
};

struct Section;

struct File {
  std::vector<std::pair<std::string, Value>> fields;
  std::vector<Section> sections;
  // The first field named `name`, or nullptr.
  const Value *field(std::string_view name) const;
};

struct Section {
  std::string kind;  // "url", "extra-source"
  std::string name;  // the optional string after the kind; "" when none
  File body;
};

// Parses `text`; `where` names the file in errors ("line N" is added). Nesting
// deeper than 64 levels, and unterminated strings, comments or brackets, are
// errors.
Result<File> parse_file(std::string_view text, const std::string &where);

// The strings of a value that is a string or a list (or group) of strings, in
// order; kParse naming `where` and `field` for anything else.
Result<std::vector<std::string>> string_list(const Value &v, const std::string &where,
                                             std::string_view field);

// One checksum as opam writes it: "md5=HEX", "sha256=HEX", "sha512=HEX", or a
// bare md5 HEX.
struct Checksum {
  DigestAlgo algo = DigestAlgo::kMd5;
  std::string hex;  // lower case
};
Result<Checksum> parse_checksum(std::string_view text, const std::string &where);

// A source archive a package names: its `url` section, or an `extra-source
// "name"` section.
struct Archive {
  std::string name;                  // "" for the package's own `url`; the extra-source name
  std::string src;                   // `src:` (or the older `archive:`/`http:`)
  std::vector<std::string> mirrors;  // `mirrors:`
  std::vector<Checksum> checksums;   // in file order: opam's caches are keyed by the first
};

// The archives of an opam file (its `url` and `extra-source` sections) or of an
// opam 1.2 `url` file (top-level fields), in file order. Sections without a
// checksum are left out, as `opam admin cache` leaves them out. Malformed
// fields are kParse naming `where`.
Result<std::vector<Archive>> archives_of(const File &file, const std::string &where);

// The cache path opam looks an archive up at below an archive mirror:
// "<algo>/<xx>/<hex>".
std::string cache_rel(const Checksum &c);

}  // namespace depot::opam
