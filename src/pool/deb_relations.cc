#include "pool/deb_relations.h"

#include "core/text.h"
#include "pool/deb_reader.h"

namespace depot::pool {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

const char* op_text(VersionOp op) {
  switch (op) {
    case VersionOp::kLess: return "<<";
    case VersionOp::kLessEq: return "<=";
    case VersionOp::kEqual: return "=";
    case VersionOp::kGreaterEq: return ">=";
    case VersionOp::kGreater: return ">>";
    case VersionOp::kNone: break;
  }
  return "";
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '-' || c == '.' || c == '_';
}

// Parses one alternative; false when malformed.
bool parse_one(std::string_view s, Relation& out) {
  size_t i = 0;
  auto skip = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  skip();
  size_t start = i;
  while (i < s.size() && name_char(s[i])) ++i;
  if (i == start) return false;
  out.name = std::string(s.substr(start, i - start));
  if (i < s.size() && s[i] == ':') {
    size_t q = ++i;
    while (i < s.size() && name_char(s[i])) ++i;
    if (i == q) return false;
    out.arch_qualifier = std::string(s.substr(q, i - q));
  }
  skip();
  if (i < s.size() && s[i] == '(') {
    size_t close = s.find(')', i);
    if (close == std::string_view::npos) return false;
    std::string_view c = trim(s.substr(i + 1, close - i - 1), " \t\n\r");
    size_t n = 0;
    while (n < c.size() && (c[n] == '<' || c[n] == '>' || c[n] == '=')) ++n;
    std::string_view op = c.substr(0, n);
    if (op == "<<") out.op = VersionOp::kLess;
    else if (op == "<=" || op == "<") out.op = VersionOp::kLessEq;
    else if (op == "=") out.op = VersionOp::kEqual;
    else if (op == ">=" || op == ">") out.op = VersionOp::kGreaterEq;
    else if (op == ">>") out.op = VersionOp::kGreater;
    else return false;
    std::string_view v = trim(c.substr(n), " \t\n\r");
    if (v.empty() || v.find_first_of(" \t\n") != std::string_view::npos) return false;
    out.version = std::string(v);
    i = close + 1;
    skip();
  }
  // Architecture restrictions and build profiles: accepted, dropped.
  while (i < s.size() && (s[i] == '[' || s[i] == '<')) {
    size_t close = s.find(s[i] == '[' ? ']' : '>', i);
    if (close == std::string_view::npos) return false;
    i = close + 1;
    skip();
  }
  return i == s.size();
}

}  // namespace

std::string Relation::to_string() const {
  std::string s = name;
  if (!arch_qualifier.empty()) s += ":" + arch_qualifier;
  if (op != VersionOp::kNone) s += std::string(" (") + op_text(op) + " " + version + ")";
  return s;
}

std::string RelationGroup::to_string() const {
  std::string s;
  for (const Relation& r : alternatives) {
    if (!s.empty()) s += " | ";
    s += r.to_string();
  }
  return s;
}

Result<std::vector<RelationGroup>> parse_relations(std::string_view value) {
  std::vector<RelationGroup> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view entry = trim(value.substr(pos, comma - pos), " \t\n\r");
    pos = comma + 1;
    if (entry.empty()) continue;
    RelationGroup group;
    size_t apos = 0;
    while (apos <= entry.size()) {
      size_t bar = entry.find('|', apos);
      if (bar == std::string_view::npos) bar = entry.size();
      Relation r;
      if (!parse_one(entry.substr(apos, bar - apos), r)) {
        return make_error(ErrorCode::kParse, "malformed relation '" + std::string(entry) +
                                                 "' in '" + std::string(trim(value, " \t\n\r")) + "'");
      }
      group.alternatives.push_back(std::move(r));
      apos = bar + 1;
    }
    out.push_back(std::move(group));
  }
  return out;
}

bool version_satisfies(std::string_view version, VersionOp op, std::string_view constraint) {
  if (op == VersionOp::kNone) return true;
  int c = compare_versions(version, constraint);
  switch (op) {
    case VersionOp::kLess: return c < 0;
    case VersionOp::kLessEq: return c <= 0;
    case VersionOp::kEqual: return c == 0;
    case VersionOp::kGreaterEq: return c >= 0;
    case VersionOp::kGreater: return c > 0;
    case VersionOp::kNone: break;
  }
  return true;
}

}  // namespace depot::pool
