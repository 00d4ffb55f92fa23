#include "sources/pypi/page_rewrite.h"

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/html_text.h"
#include "sources/pypi/simple_index.h"

namespace depot::pypi {
namespace {

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

bool prefers_json(std::string_view accept) {
  auto q_of = [&](std::string_view type) -> double {
    size_t pos = accept.find(type);
    if (pos == std::string_view::npos) return -1;
    size_t end = accept.find(',', pos);
    std::string_view item = accept.substr(pos, end == std::string_view::npos ? accept.npos : end - pos);
    size_t q = item.find(";q=");
    if (q == std::string_view::npos) return 1;
    return std::atof(std::string(item.substr(q + 3)).c_str());
  };
  double json = q_of(kSimpleJson);
  double html = std::max(q_of("text/html"), q_of("application/vnd.pypi.simple.v1+html"));
  return json > 0 && json >= html;
}

Result<RewrittenPage> rewrite_simple_page(std::string_view body, bool json,
                                          std::string_view page_url, const LocalPathFn& local_path) {
  RewrittenPage out;
  auto map = [&](const std::string& ref, std::string sha256) -> std::string {
    std::string fragment;
    auto target = resolve_url(page_url, strip_fragment(ref, &fragment));
    if (!target.ok()) return ref;
    std::string local = local_path(*target);
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

}  // namespace depot::pypi
