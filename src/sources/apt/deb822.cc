#include "sources/apt/deb822.h"

#include <cstring>

#include "core/text.h"

namespace depot::apt {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }


bool blank(std::string_view line) { return trim(line, " \t\r").empty(); }

}  // namespace

std::optional<std::string_view> Stanza::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

Deb822Parser::Deb822Parser(std::string name, Handler handler, size_t max_stanza)
    : name_(std::move(name)), handler_(std::move(handler)), max_stanza_(max_stanza) {}

Status Deb822Parser::feed(std::string_view data) {
  buf_.append(data);
  DEPOT_TRY(scan());
  const size_t keep = start_ != std::string::npos ? start_ : pos_;
  if (keep > 0) {
    buf_.erase(0, keep);
    pos_ -= keep;
    if (start_ != std::string::npos) start_ -= keep;
  }
  if (buf_.size() > max_stanza_) {
    return make_error(ErrorCode::kParse, name_ + ": paragraph at line " +
                                             std::to_string(start_line_ ? start_line_ : line_) +
                                             " is longer than " + std::to_string(max_stanza_) +
                                             " bytes");
  }
  return ok_status();
}

Status Deb822Parser::scan() {
  for (;;) {
    const char* base = buf_.data();
    const void* nl = std::memchr(base + pos_, '\n', buf_.size() - pos_);
    if (!nl) return ok_status();
    const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - base);
    std::string_view line(base + pos_, end - pos_);
    if (blank(line)) {
      if (start_ != std::string::npos) {
        DEPOT_TRY(emit(start_, pos_));
        start_ = std::string::npos;
      }
    } else if (start_ == std::string::npos) {
      start_ = pos_;
      start_line_ = line_;
    }
    pos_ = end + 1;
    ++line_;
  }
}

Status Deb822Parser::emit(size_t begin, size_t end) {
  stanza_.fields_.clear();
  stanza_.line_ = start_line_;
  std::string_view text(buf_.data() + begin, end - begin);
  size_t line_no = start_line_;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') {
      ++line_no;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (stanza_.fields_.empty()) {
        return make_error(ErrorCode::kParse, name_ + ": line " + std::to_string(line_no) +
                                                 ": continuation line before any field");
      }
      std::string_view& v = stanza_.fields_.back().value;
      const char* stop = line.data() + line.size();
      while (stop > v.data() && is_space(stop[-1])) --stop;
      if (v.empty()) v = std::string_view(line.data() - 1, 0);  // value starts at the '\n'
      v = std::string_view(v.data(), static_cast<size_t>(stop - v.data()));
    } else {
      size_t colon = line.find(':');
      std::string_view name = colon == std::string_view::npos ? "" : line.substr(0, colon);
      if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
        return make_error(ErrorCode::kParse, name_ + ": line " + std::to_string(line_no) +
                                                 ": expected 'Field: value'");
      }
      std::string_view value = trim(line.substr(colon + 1), " \t\r");
      if (value.empty()) value = std::string_view(line.data() + line.size(), 0);
      stanza_.fields_.push_back({name, value});
    }
    ++line_no;
  }
  return handler_(stanza_);
}

Status Deb822Parser::finish() {
  if (pos_ < buf_.size()) buf_.push_back('\n');  // last line without a newline
  DEPOT_TRY(scan());
  if (start_ != std::string::npos) {
    DEPOT_TRY(emit(start_, pos_));
    start_ = std::string::npos;
  }
  buf_.clear();
  pos_ = 0;
  return ok_status();
}

std::vector<std::string_view> value_lines(std::string_view value) {
  std::vector<std::string_view> out;
  while (!value.empty()) {
    size_t nl = value.find('\n');
    std::string_view line = trim(value.substr(0, nl), " \t\r");
    if (!line.empty()) out.push_back(line);
    if (nl == std::string_view::npos) break;
    value.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace depot::apt
