#include "pool/paragraph.h"

#include "core/text.h"

#include <algorithm>

namespace depot::pool {

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  if (!value.empty() && value.front() != '\n') out += ' ';
  out += value;
  out += '\n';
}

std::string fields_to_text(const FieldList& fields) {
  size_t n = 0;
  for (const auto& [k, v] : fields) n += k.size() + v.size() + 3;
  std::string out;
  out.reserve(n);
  for (const auto& [k, v] : fields) append_field(out, k, v);
  return out;
}

Status for_each_field(
    std::string_view text, std::string_view what,
    const std::function<void(std::string_view, std::string_view, std::string_view)>& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      return make_error(ErrorCode::kParse, std::string(what) + ": stored paragraph does not end "
                                                               "with a newline");
    }
    size_t colon = text.find(':', pos);
    if (text[pos] == ' ' || text[pos] == '\t' || colon == std::string_view::npos || colon > eol ||
        colon == pos) {
      return make_error(ErrorCode::kParse,
                        std::string(what) + ": malformed stored field line at byte " +
                            std::to_string(pos));
    }
    // The field ends before the next line that is not a continuation.
    size_t end = eol + 1;
    while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) {
      size_t next = text.find('\n', end);
      end = next == std::string_view::npos ? text.size() : next + 1;
    }
    std::string_view line = text.substr(pos, end - pos);
    std::string_view value = text.substr(colon + 1, end - 1 - (colon + 1));
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    fn(text.substr(pos, colon - pos), value, line);
    pos = end;
  }
  return {};
}

Result<FieldList> text_to_fields(std::string_view text, std::string_view what) {
  FieldList out;
  DEPOT_TRY(for_each_field(text, what, [&](std::string_view n, std::string_view v,
                                           std::string_view) { out.emplace_back(n, v); }));
  return out;
}

const std::string* find_field(const FieldList& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

bool index_only_field(std::string_view name) {
  for (std::string_view f : {"Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"}) {
    if (iequals(name, f)) return true;
  }
  return false;
}

PackageText package_text(const Package& p) {
  return PackageText{p.name, p.version, p.architecture, fields_to_text(p.fields), p.file};
}

}  // namespace depot::pool
