#include "sources/crates/index_file.h"

#include <simdjson.h>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "transfer/http_util.h"

namespace depot::crates {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// {prefix} of a name as cargo computes it (case kept).
std::string prefix_of(std::string_view name) {
  switch (name.size()) {
    case 1:
      return "1";
    case 2:
      return "2";
    case 3:
      return "3/" + std::string(name.substr(0, 1));
    default:
      return std::string(name.substr(0, 2)) + "/" + std::string(name.substr(2, 2));
  }
}

std::string string_field(simdjson::dom::object obj, const char* key) {
  std::string_view v;
  return obj[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

Status check_version(const Version& v, std::string_view crate, const std::string& at) {
  if (!valid_crate_name(v.name) || !iequals(v.name, crate)) {
    return make_error(ErrorCode::kUnsafePath, at + ": name " + quote_untrusted(v.name) +
                                                  " is not crate " + quote_untrusted(crate));
  }
  if (!valid_version(v.vers)) {
    return make_error(ErrorCode::kUnsafePath, at + ": bad version " + quote_untrusted(v.vers));
  }
  auto cksum = normalize_hex_digest(DigestAlgo::kSha256, v.cksum);
  if (!cksum.ok() || *cksum != v.cksum) {  // lowercase hex, as crates.io writes it
    return make_error(ErrorCode::kParse, at + ": bad cksum " + quote_untrusted(v.cksum));
  }
  return ok_status();
}

Result<std::vector<Dependency>> parse_deps(simdjson::dom::object doc, const std::string& at) {
  std::vector<Dependency> out;
  simdjson::dom::array deps;
  if (doc["deps"].get(deps) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element e : deps) {
    simdjson::dom::object d;
    if (e.get(d) != simdjson::SUCCESS) {
      return make_error(ErrorCode::kParse, at + ": a dependency is no object");
    }
    Dependency dep;
    dep.crate = string_field(d, "package");
    if (dep.crate.empty()) dep.crate = string_field(d, "name");
    dep.registry = string_field(d, "registry");
    if (!valid_crate_name(dep.crate)) {
      return make_error(ErrorCode::kUnsafePath,
                        at + ": bad dependency name " + quote_untrusted(dep.crate));
    }
    out.push_back(std::move(dep));
  }
  return out;
}

// One JSON line; `parser` is reused across lines (its buffers grow once).
Result<Version> parse_line(simdjson::dom::parser& parser, std::string_view line,
                           std::string_view crate, const std::string& at) {
  simdjson::dom::object doc;
  if (parser.parse(line.data(), line.size(), true).get(doc) != simdjson::SUCCESS) {
    return make_error(ErrorCode::kParse, at + ": not a JSON object");
  }
  Version v;
  v.name = string_field(doc, "name");
  v.vers = string_field(doc, "vers");
  v.cksum = string_field(doc, "cksum");
  DEPOT_TRY(check_version(v, crate, at));
  bool yanked = false;
  v.yanked = doc["yanked"].get(yanked) == simdjson::SUCCESS && yanked;
  DEPOT_ASSIGN_OR_RETURN(v.deps, parse_deps(doc, at));
  return v;
}

}  // namespace

bool valid_crate_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !is_alpha(name[0])) return false;
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool valid_version(std::string_view vers) {
  if (vers.empty() || vers.size() > 128 || !is_digit(vers[0])) return false;
  for (char c : vers) {
    if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '+' && c != '-') return false;
  }
  return true;
}

Result<std::string> index_path(std::string_view name) {
  if (!valid_crate_name(name)) {
    return make_error(ErrorCode::kUnsafePath, "bad crate name " + quote_untrusted(name));
  }
  std::string n = ascii_lower(name);
  return prefix_of(n) + "/" + n;
}

Result<std::vector<Version>> parse_index_file(std::string_view text, std::string_view crate,
                                              const std::string& where) {
  std::vector<Version> out;
  simdjson::dom::parser parser;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    DEPOT_ASSIGN_OR_RETURN(Version v,
                           parse_line(parser, line, crate, where + ":" + std::to_string(line_no)));
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::string> parse_config_dl(std::string_view json, const std::string& where) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  // An empty view may have no data pointer, which simdjson would copy from.
  if (json.empty() || parser.parse(json.data(), json.size(), true).get(doc) != simdjson::SUCCESS) {
    return make_error(ErrorCode::kParse, where + ": not a JSON object");
  }
  std::string dl = string_field(doc, "dl");
  if (!is_http_url(dl)) {
    return make_error(ErrorCode::kParse, where + ": \"dl\" is not an http(s) URL");
  }
  return dl;
}

std::string crate_url(std::string_view dl, const Version& v) {
  static constexpr std::string_view kMarkers[] = {"{crate}", "{version}", "{prefix}",
                                                  "{lowerprefix}", "{sha256-checksum}"};
  bool templated = false;
  for (std::string_view m : kMarkers) templated = templated || dl.find(m) != std::string_view::npos;
  if (!templated) {
    std::string base(dl);
    if (!base.ends_with('/')) base += '/';
    return base + v.name + "/" + v.vers + "/download";
  }
  const std::string values[] = {v.name, v.vers, prefix_of(v.name), ascii_lower(prefix_of(v.name)),
                                v.cksum};
  std::string out;
  for (size_t i = 0; i < dl.size();) {
    size_t m = 0;
    while (m < std::size(kMarkers) && dl.substr(i, kMarkers[m].size()) != kMarkers[m]) ++m;
    if (m < std::size(kMarkers)) {
      out += values[m];
      i += kMarkers[m].size();
    } else {
      out += dl[i++];
    }
  }
  return out;
}

}  // namespace depot::crates
