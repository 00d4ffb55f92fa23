#pragma once
// The stored text form of a package's metadata paragraph (Package::fields): deb822 lines, each
// field "Name: value\n", a value's continuation lines after it as they are in the value; a
// value that starts with "\n" ("Conffiles:\n /etc/x 0123") gets no space after the colon.
// Values must not start with a blank or end with "\n" (deb822 values never do), so the text
// converts back to the same fields. Pure functions, thread-safe.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "pool/package.h"

namespace depot::pool {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Appends "Name: value\n" (or "Name:\n..." for a value starting with a newline) to `out`.
void append_field(std::string& out, std::string_view name, std::string_view value);

std::string fields_to_text(const FieldList& fields);

// Calls fn(name, value, line) for each field of `text` in order; `line` is the field's whole
// text including its continuation lines and final "\n". kParse naming `what` for a line that is
// neither a continuation nor "Name:..." (a text fields_to_text did not write).
Status for_each_field(
    std::string_view text, std::string_view what,
    const std::function<void(std::string_view name, std::string_view value,
                             std::string_view line)>& fn);

Result<FieldList> text_to_fields(std::string_view text, std::string_view what);

// The value of field `name` (ASCII case-insensitive) in `fields`, or null.
const std::string* find_field(const FieldList& fields, std::string_view name);

// Whether `name` is a field only a repository index carries (Filename, Size and the
// checksums), never a package's own metadata.
bool index_only_field(std::string_view name);

// `p` with its fields as text.
PackageText package_text(const Package& p);


}  // namespace depot::pool
