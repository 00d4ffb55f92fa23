#include "core/rel_path.h"

#include <cstdio>

namespace depot {

std::string quote_untrusted(std::string_view text) {
  std::string out = "\"";
  size_t n = 0;
  for (unsigned char c : text) {
    if (++n > 200) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "\"";
  return out;
}

Result<RelPath> RelPath::parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(ErrorCode::kUnsafePath,
                      "unsafe path " + quote_untrusted(text) + ": " + why);
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 4096) return bad("too long");
  if (text.front() == '/') return bad("absolute");
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view comp = text.substr(start, end - start);
    if (comp.empty()) return bad("empty component");
    if (comp == "." || comp == "..") return bad("dot component");
    if (comp.size() > 255) return bad("component too long");
    for (unsigned char c : comp) {
      if (c < 0x20 || c == 0x7f) return bad("control character");
      if (c == '\\') return bad("backslash");
    }
    if (first && comp.starts_with(".depot")) return bad("reserved name");
    first = false;
    start = end + 1;
    if (end == text.size()) break;
  }
  return RelPath(std::string(text));
}

std::string_view rel_filename(std::string_view rel) {
  auto pos = rel.rfind('/');
  return pos == std::string_view::npos ? rel : rel.substr(pos + 1);
}

std::string_view rel_parent(std::string_view rel) {
  auto pos = rel.rfind('/');
  return pos == std::string_view::npos ? std::string_view() : rel.substr(0, pos);
}

std::string rel_join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

std::string_view RelPath::filename() const { return rel_filename(path_); }

std::string RelPath::parent() const { return std::string(rel_parent(path_)); }

Result<RelPath> RelPath::join(std::string_view suffix) const {
  return parse(path_ + "/" + std::string(suffix));
}

}  // namespace depot
