#include "sources/pypi/simple_index.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/text.h"

namespace depot::pypi {
namespace {

// "%2B" -> "+"; a malformed escape is kept as it is (the name checks refuse what is unsafe).
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int h = i + 2 < s.size() && s[i] == '%' ? hex(s[i + 1]) : -1;
    int l = h >= 0 ? hex(s[i + 2]) : -1;
    if (h >= 0 && l >= 0) {
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}


bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool iequals_prefix(std::string_view s, size_t pos, std::string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(s[pos + i]) != prefix[i]) return false;
  }
  return true;
}

// RFC 3986 remove_dot_segments on the path part of an absolute URL (query kept as-is).
std::string remove_dot_segments(std::string_view path) {
  std::string_view query;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q);
    path = path.substr(0, q);
  }
  std::vector<std::string_view> out;
  bool trailing = false;
  size_t start = 1;  // path starts with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    trailing = end == path.size() && (seg == "." || seg == "..");
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != ".") {
      out.push_back(seg);
    }
    start = end + 1;
  }
  std::string res;
  for (auto s : out) {
    res += '/';
    res += s;
  }
  if (trailing || res.empty()) res += '/';
  res += query;
  return res;
}

struct UrlParts {
  std::string scheme, authority, path;  // path starts with '/', includes the query
};

std::optional<UrlParts> split_absolute(std::string_view url) {
  size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alnum(url[0])) return std::nullopt;
  for (size_t i = 0; i < colon; ++i) {
    char c = url[i];
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  UrlParts p;
  for (size_t i = 0; i < colon; ++i) p.scheme += ascii_lower(url[i]);
  std::string_view rest = url.substr(colon + 1);
  if (!rest.starts_with("//")) return std::nullopt;
  rest.remove_prefix(2);
  size_t slash = rest.find_first_of("/?");
  p.authority = std::string(rest.substr(0, slash));
  p.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (p.path.front() == '?') p.path.insert(0, "/");
  return p;
}

bool has_scheme(std::string_view ref) {
  size_t colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z'))) return false;
  for (size_t i = 1; i < colon; ++i) {
    if (!is_alnum(ref[i]) && ref[i] != '+' && ref[i] != '-' && ref[i] != '.') return false;
  }
  return true;
}

// Checks the parts every file needs and adds `f` unless an identical entry is there already.
Status add_file(DistFile f, const std::string& url, ProjectPage& page,
                std::map<std::string, size_t>& seen) {
  DEPOT_TRY(check_filename(f.filename, url));
  if (f.sha256.empty()) {
    return make_error(ErrorCode::kParse,
                      url + ": " + quote_untrusted(f.filename) + " has no sha256 hash");
  }
  if (auto it = seen.find(f.filename); it != seen.end()) {
    if (page.files[it->second].sha256 == f.sha256) return ok_status();
    return make_error(ErrorCode::kParse, url + ": " + quote_untrusted(f.filename) +
                                             " is listed twice with different sha256");
  }
  seen.emplace(f.filename, page.files.size());
  page.files.push_back(std::move(f));
  return ok_status();
}

// "sha256=<hex>" (a PEP 658 attribute value or URL fragment) -> hex; "" for other forms.
Result<std::string> sha256_from_pair(std::string_view value, const std::string& what) {
  if (!iequals_prefix(value, 0, "sha256=")) return std::string();
  auto hex = normalize_hex_digest(DigestAlgo::kSha256, value.substr(7));
  if (!hex.ok())
    return make_error(ErrorCode::kParse, what + ": bad sha256 " + quote_untrusted(value));
  return hex;
}

// Attributes of one start tag; `pos` is just after the tag name, left just after '>'.
Result<std::map<std::string, std::string>> parse_attributes(std::string_view s, size_t& pos,
                                                            const std::string& url) {
  std::map<std::string, std::string> attrs;
  auto truncated = [&] { return make_error(ErrorCode::kParse, url + ": unterminated HTML tag"); };
  while (true) {
    while (pos < s.size() && (is_space(s[pos]) || s[pos] == '/')) ++pos;
    if (pos >= s.size()) return truncated();
    if (s[pos] == '>') {
      ++pos;
      return attrs;
    }
    size_t start = pos;
    while (pos < s.size() && !is_space(s[pos]) && s[pos] != '=' && s[pos] != '>' && s[pos] != '/')
      ++pos;
    std::string name;
    for (size_t i = start; i < pos; ++i) name += ascii_lower(s[i]);
    while (pos < s.size() && is_space(s[pos])) ++pos;
    std::string value;
    if (pos < s.size() && s[pos] == '=') {
      ++pos;
      while (pos < s.size() && is_space(s[pos])) ++pos;
      if (pos >= s.size()) return truncated();
      if (s[pos] == '"' || s[pos] == '\'') {
        size_t close = s.find(s[pos], pos + 1);
        if (close == std::string_view::npos) return truncated();
        value = html_unescape(s.substr(pos + 1, close - pos - 1));
        pos = close + 1;
      } else {
        size_t vstart = pos;
        while (pos < s.size() && !is_space(s[pos]) && s[pos] != '>') ++pos;
        value = html_unescape(s.substr(vstart, pos - vstart));
      }
    }
    attrs.emplace(std::move(name), std::move(value));  // the first of duplicates wins
  }
}

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (!in_sep) out += '-';
      in_sep = true;
    } else {
      out += ascii_lower(c);
      in_sep = false;
    }
  }
  return out;
}

bool valid_project_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  if (!is_alnum(name.front()) || !is_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

Result<std::string> resolve_url(std::string_view base, std::string_view ref) {
  ref = trim(ref, " \t\n\r\f");
  if (size_t hash = ref.find('#'); hash != std::string_view::npos) ref = ref.substr(0, hash);
  for (unsigned char c : ref) {
    if (c <= 0x20 || c == 0x7F || c == '\\') {
      return make_error(ErrorCode::kUnsafePath, std::string(base) + ": link " +
                                                    quote_untrusted(ref) +
                                                    " has a space, backslash or control byte");
    }
  }
  auto b = split_absolute(base);
  if (!b)
    return make_error(ErrorCode::kInvalidArgument, quote_untrusted(base) + ": not an absolute URL");
  UrlParts out;
  if (has_scheme(ref)) {
    auto r = split_absolute(ref);
    if (!r)
      return make_error(ErrorCode::kUnsafePath,
                        std::string(base) + ": link " + quote_untrusted(ref) + " is not a URL");
    out = *r;
  } else if (ref.starts_with("//")) {
    auto r = split_absolute(b->scheme + ":" + std::string(ref));
    if (!r)
      return make_error(ErrorCode::kUnsafePath,
                        std::string(base) + ": link " + quote_untrusted(ref) + " is not a URL");
    out = *r;
  } else {
    out.scheme = b->scheme;
    out.authority = b->authority;
    std::string_view bpath = b->path;
    if (size_t q = bpath.find('?'); q != std::string_view::npos) bpath = bpath.substr(0, q);
    if (ref.starts_with("/")) {
      out.path = std::string(ref);
    } else if (ref.empty()) {
      out.path = b->path;
    } else if (ref.starts_with("?")) {
      out.path = std::string(bpath) + std::string(ref);
    } else {
      out.path = std::string(bpath.substr(0, bpath.rfind('/') + 1)) + std::string(ref);
    }
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return make_error(ErrorCode::kUnsafePath,
                      std::string(base) + ": link " + quote_untrusted(ref) + " is not http(s)");
  }
  if (out.authority.empty()) {
    return make_error(ErrorCode::kUnsafePath,
                      std::string(base) + ": link " + quote_untrusted(ref) + " has no host");
  }
  return out.scheme + "://" + out.authority + remove_dot_segments(out.path);
}

Status check_filename(std::string_view filename, std::string_view where) {
  auto bad = [&](const char* why) {
    return make_error(ErrorCode::kUnsafePath, std::string(where) + ": refusing file name " +
                                                  quote_untrusted(filename) + " (" + why + ")");
  };
  if (filename.empty()) return bad("empty");
  if (filename.size() > 200) return bad("longer than 200 bytes");
  if (filename.front() == '.') return bad("starts with a dot");
  // An HTML page's link text is trimmed: such a name would not read back the same.
  if (filename.front() == ' ' || filename.back() == ' ') return bad("starts or ends with a space");
  for (unsigned char c : filename) {
    if (c < 0x20 || c == 0x7F) return bad("control byte");
    if (c == '/' || c == '\\') return bad("path separator");
  }
  if (!RelPath::parse(filename).ok()) return bad("unsafe path");
  // The mirror's PEP 691 page names the file in JSON text, which holds only UTF-8.
  if (!simdjson::validate_utf8(filename.data(), filename.size())) return bad("not UTF-8");
  return ok_status();
}

bool looks_like_json(std::string_view body) {
  body = trim(body, " \t\n\r\f");
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  return !body.empty() && body.front() == '{';
}

Result<ProjectPage> parse_project_json(std::string_view body, const std::string& url) {
  auto doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(ErrorCode::kParse, url + ": malformed PEP 691 JSON");
  }
  auto bad = [&](const std::string& what) {
    return make_error(ErrorCode::kParse, url + ": " + what);
  };
  auto meta = doc.find("meta");
  if (meta == doc.end() || !meta->is_object()) return bad("no \"meta\" object");
  auto version = meta->find("api-version");
  if (version == meta->end() || !version->is_string() ||
      !version->get_ref<const std::string&>().starts_with("1.")) {
    return bad("unsupported or missing meta.api-version (need 1.x)");
  }
  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) return bad("no \"files\" array");
  ProjectPage page;
  std::map<std::string, size_t> seen;
  for (const auto& jf : *files) {
    if (!jf.is_object()) return bad("a \"files\" item is not an object");
    auto fn = jf.find("filename");
    auto u = jf.find("url");
    auto hashes = jf.find("hashes");
    if (fn == jf.end() || !fn->is_string()) return bad("a file without a \"filename\" string");
    DistFile f;
    f.filename = fn->get<std::string>();
    const std::string what = url + ": " + quote_untrusted(f.filename);
    if (u == jf.end() || !u->is_string())
      return make_error(ErrorCode::kParse, what + " has no url");
    if (hashes == jf.end() || !hashes->is_object()) {
      return make_error(ErrorCode::kParse, what + " has no \"hashes\" object");
    }
    DEPOT_ASSIGN_OR_RETURN(f.url, resolve_url(url, u->get_ref<const std::string&>()));
    if (auto h = hashes->find("sha256"); h != hashes->end()) {
      if (!h->is_string()) return make_error(ErrorCode::kParse, what + ": sha256 is not a string");
      auto hex = normalize_hex_digest(DigestAlgo::kSha256, h->get_ref<const std::string&>());
      if (!hex.ok()) return make_error(ErrorCode::kParse, what + ": bad sha256");
      f.sha256 = *hex;
    }
    if (auto s = jf.find("size"); s != jf.end() && !s->is_null()) {
      if (!s->is_number_unsigned()) return make_error(ErrorCode::kParse, what + ": bad size");
      f.size = s->get<uint64_t>();
    }
    if (auto rp = jf.find("requires-python"); rp != jf.end() && !rp->is_null()) {
      if (!rp->is_string()) return make_error(ErrorCode::kParse, what + ": bad requires-python");
      f.requires_python = rp->get<std::string>();
    }
    if (auto y = jf.find("yanked"); y != jf.end()) {
      if (y->is_string()) {
        f.yanked = y->get<std::string>();
      } else if (y->is_boolean()) {
        if (y->get<bool>()) f.yanked = std::string();
      } else if (!y->is_null()) {
        return make_error(ErrorCode::kParse, what + ": bad yanked");
      }
    }
    auto md = jf.find("core-metadata");
    if (md == jf.end()) md = jf.find("dist-info-metadata");
    if (md != jf.end()) {
      if (md->is_boolean()) {
        f.has_metadata = md->get<bool>();
      } else if (md->is_object()) {
        f.has_metadata = true;
        if (auto h = md->find("sha256"); h != md->end()) {
          auto hex = h->is_string() ? normalize_hex_digest(DigestAlgo::kSha256,
                                                           h->get_ref<const std::string&>())
                                    : Result<std::string>(make_error(ErrorCode::kParse, ""));
          if (!hex.ok()) return make_error(ErrorCode::kParse, what + ": bad core-metadata sha256");
          f.metadata_sha256 = *hex;
        }
      } else if (!md->is_null()) {
        return make_error(ErrorCode::kParse, what + ": bad core-metadata");
      }
    }
    DEPOT_TRY(add_file(std::move(f), url, page, seen));
  }
  return page;
}

Result<ProjectPage> parse_project_html(std::string_view s, const std::string& url) {
  ProjectPage page;
  std::map<std::string, size_t> seen;
  std::string base = url;
  bool base_seen = false;
  size_t pos = 0;
  while ((pos = s.find('<', pos)) != std::string_view::npos) {
    if (s.compare(pos, 4, "<!--") == 0) {
      size_t end = s.find("-->", pos + 4);
      if (end == std::string_view::npos)
        return make_error(ErrorCode::kParse, url + ": unterminated HTML comment");
      pos = end + 3;
      continue;
    }
    size_t name_start = pos + 1;
    size_t name_end = name_start;
    while (name_end < s.size() && is_alnum(s[name_end])) ++name_end;
    std::string tag;
    for (size_t i = name_start; i < name_end; ++i) tag += ascii_lower(s[i]);
    if (tag != "a" && tag != "base") {
      pos = name_end;
      continue;
    }
    pos = name_end;
    DEPOT_ASSIGN_OR_RETURN(auto attrs, parse_attributes(s, pos, url));
    auto href = attrs.find("href");
    if (tag == "base") {
      if (!base_seen && href != attrs.end()) {
        DEPOT_ASSIGN_OR_RETURN(base, resolve_url(url, href->second));
        base_seen = true;
      }
      continue;
    }
    size_t close = pos;
    while ((close = s.find("</", close)) != std::string_view::npos &&
           !iequals_prefix(s, close, "</a"))
      close += 2;
    if (close == std::string_view::npos) {
      return make_error(ErrorCode::kParse, url + ": unterminated <a> element");
    }
    std::string text(trim(html_unescape(s.substr(pos, close - pos)), " \t\n\r\f"));
    pos = close + 3;
    if (href == attrs.end()) continue;
    DistFile f;
    DEPOT_ASSIGN_OR_RETURN(f.url, resolve_url(base, href->second));
    if (size_t hash = href->second.find('#'); hash != std::string::npos) {
      DEPOT_ASSIGN_OR_RETURN(f.sha256,
                             sha256_from_pair(std::string_view(href->second).substr(hash + 1),
                                              url + ": " + quote_untrusted(text)));
    }
    f.filename = text;
    if (f.filename.empty()) {
      std::string_view path = f.url;
      if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
      f.filename = percent_decode(path.substr(path.rfind('/') + 1));
    }
    if (auto rp = attrs.find("data-requires-python"); rp != attrs.end())
      f.requires_python = rp->second;
    if (auto y = attrs.find("data-yanked"); y != attrs.end()) f.yanked = y->second;
    auto md = attrs.find("data-core-metadata");
    if (md == attrs.end()) md = attrs.find("data-dist-info-metadata");
    if (md != attrs.end() && md->second != "false") {
      f.has_metadata = true;
      DEPOT_ASSIGN_OR_RETURN(
          f.metadata_sha256,
          sha256_from_pair(md->second, url + ": " + quote_untrusted(f.filename)));
    }
    DEPOT_TRY(add_file(std::move(f), url, page, seen));
  }
  return page;
}

Result<ProjectPage> parse_project_page(std::string_view body, const std::string& url) {
  return looks_like_json(body) ? parse_project_json(body, url) : parse_project_html(body, url);
}


}  // namespace depot::pypi
