#include "serve/page_rewrite.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "core/html_text.h"

namespace depot {
namespace {

// scheme://authority of an absolute URL ("" when it has none).
std::string_view origin_of(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {};
  size_t end = url.find_first_of("/?#", sep + 3);
  return url.substr(0, end == std::string_view::npos ? url.size() : end);
}

// Removes "." and ".." segments from an absolute path (RFC 3986 §5.2.4).
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  bool trailing = false;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(pos, next - pos);
    trailing = false;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else if (seg == ".") {
      trailing = true;
    } else if (!(seg.empty() && pos == 0)) {
      out.push_back(seg);
    }
    pos = next + 1;
  }
  std::string result;
  for (std::string_view s : out) {
    result += '/';
    result += s;
  }
  if (trailing || result.empty()) result += '/';
  return result;
}

std::string strip_fragment(std::string_view url, std::string* fragment) {
  size_t hash = url.find('#');
  if (hash == std::string_view::npos) return std::string(url);
  if (fragment) *fragment = std::string(url.substr(hash + 1));
  return std::string(url.substr(0, hash));
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool prefers_pypi_json(std::string_view accept) {
  auto q_of = [&](std::string_view type) -> double {
    size_t pos = accept.find(type);
    if (pos == std::string_view::npos) return -1;
    size_t end = accept.find(',', pos);
    std::string_view item = accept.substr(pos, end == std::string_view::npos ? accept.npos : end - pos);
    size_t q = item.find(";q=");
    if (q == std::string_view::npos) return 1;
    return std::atof(std::string(item.substr(q + 3)).c_str());
  };
  double json = q_of(kPypiSimpleJson);
  double html = std::max(q_of("text/html"), q_of("application/vnd.pypi.simple.v1+html"));
  return json > 0 && json >= html;
}

std::string resolve_url(std::string_view base, std::string_view ref) {
  if (ref.starts_with("http://") || ref.starts_with("https://")) return std::string(ref);
  std::string_view origin = origin_of(base);
  if (ref.starts_with("//")) {
    size_t sep = base.find("://");
    return std::string(base.substr(0, sep + 1)) + std::string(ref);
  }
  std::string suffix;  // query/fragment of ref
  size_t q = ref.find_first_of("?#");
  std::string_view ref_path = ref.substr(0, q);
  if (q != std::string_view::npos) suffix = std::string(ref.substr(q));
  std::string_view base_path = base.substr(origin.size());
  base_path = base_path.substr(0, base_path.find_first_of("?#"));
  if (base_path.empty()) base_path = "/";
  if (ref_path.empty()) {
    std::string_view b = base.substr(0, base.find('#'));
    if (!suffix.empty() && suffix[0] == '?') b = b.substr(0, b.find('?'));
    return std::string(b) + suffix;
  }
  std::string merged;
  if (ref_path.front() == '/') {
    merged = std::string(ref_path);
  } else {
    merged = std::string(base_path.substr(0, base_path.rfind('/') + 1)) + std::string(ref_path);
  }
  std::string path = remove_dot_segments(merged);
  return std::string(origin) + path + suffix;
}

std::string local_path_for(std::string_view url, const std::vector<UpstreamConfig>& upstreams) {
  const UpstreamConfig* best = nullptr;
  for (const auto& u : upstreams) {
    if (url.size() < u.url.size() || strncasecmp(url.data(), u.url.data(), u.url.size()) != 0) {
      continue;
    }
    if (url.size() > u.url.size() && url[u.url.size()] != '/') continue;
    if (!best || u.url.size() > best->url.size()) best = &u;
  }
  if (!best) return "";
  std::string rest(url.substr(best->url.size()));
  std::string local = best->prefix.empty() ? "" : "/" + best->prefix;
  if (rest.empty()) rest = "/";
  return local + rest;
}

Result<RewrittenPage> rewrite_simple_page(std::string_view body, bool json,
                                          std::string_view page_url,
                                          const std::vector<UpstreamConfig>& upstreams) {
  RewrittenPage out;
  auto map = [&](const std::string& ref, std::string sha256) -> std::string {
    std::string fragment;
    std::string target = resolve_url(page_url, strip_fragment(ref, &fragment));
    std::string local = local_path_for(target, upstreams);
    if (local.empty()) return ref;
    if (sha256.empty() && fragment.starts_with("sha256=")) sha256 = fragment.substr(7);
    if (is_hex64(sha256)) {
      std::string rel = local.substr(1, local.find_first_of("?#") == std::string::npos
                                            ? std::string::npos
                                            : local.find_first_of("?#") - 1);
      out.digests.emplace_back(rel, sha256);
    }
    return fragment.empty() ? local : local + "#" + fragment;
  };
  if (json) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return make_error(ErrorCode::kParse, std::string(page_url) + ": not a JSON object");
    }
    auto files = doc.find("files");
    if (files != doc.end() && files->is_array()) {
      for (auto& f : *files) {
        if (!f.is_object()) continue;
        auto url = f.find("url");
        if (url == f.end() || !url->is_string()) continue;
        std::string sha;
        auto hashes = f.find("hashes");
        if (hashes != f.end() && hashes->is_object()) {
          auto s = hashes->find("sha256");
          if (s != hashes->end() && s->is_string()) sha = s->get<std::string>();
        }
        *url = map(url->get<std::string>(), sha);
      }
    }
    out.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
  }
  // HTML: rewrite every href="..." / href='...' value.
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t pos = std::string_view::npos;
    for (size_t i = 0; i + 5 <= rest.size(); ++i) {
      if (strncasecmp(rest.data() + i, "href=", 5) == 0 &&
          (i == 0 || rest[i - 1] == ' ' || rest[i - 1] == '\t' || rest[i - 1] == '\n')) {
        pos = i;
        break;
      }
    }
    if (pos == std::string_view::npos || pos + 5 >= rest.size()) {
      out.body += rest;
      break;
    }
    char quote = rest[pos + 5];
    if (quote != '"' && quote != '\'') {
      out.body += rest.substr(0, pos + 5);
      rest.remove_prefix(pos + 5);
      continue;
    }
    size_t end = rest.find(quote, pos + 6);
    if (end == std::string_view::npos) {
      out.body += rest;
      break;
    }
    out.body += rest.substr(0, pos + 6);
    std::string value = html_unescape(rest.substr(pos + 6, end - pos - 6));
    out.body += html_escape(map(value, ""));
    rest.remove_prefix(end);
  }
  return out;
}

}  // namespace depot
