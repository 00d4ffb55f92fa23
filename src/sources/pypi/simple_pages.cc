#include "sources/pypi/simple_pages.h"

#include <nlohmann/json.hpp>

namespace depot::pypi {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kHead =
    "<!DOCTYPE html>\n<html>\n  <head>\n"
    "    <meta name=\"pypi:repository-version\" content=\"1.0\">\n";

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string project_html(std::string_view name, const std::vector<ListedFile>& files) {
  const std::string title = "Links for " + html_escape(name);
  std::string out = kHead;
  out += "    <title>" + title + "</title>\n  </head>\n  <body>\n    <h1>" + title + "</h1>\n";
  for (const auto& lf : files) {
    const DistFile& f = lf.file;
    out += "    <a href=\"" + html_escape(lf.href) + "#sha256=" + f.sha256 + "\"";
    if (f.requires_python) {
      out += " data-requires-python=\"" + html_escape(*f.requires_python) + "\"";
    }
    if (f.yanked) out += " data-yanked=\"" + html_escape(*f.yanked) + "\"";
    if (f.has_metadata) {
      std::string v = f.metadata_sha256.empty() ? "true" : "sha256=" + f.metadata_sha256;
      out += " data-dist-info-metadata=\"" + v + "\" data-core-metadata=\"" + v + "\"";
    }
    out += ">" + html_escape(f.filename) + "</a><br/>\n";
  }
  out += "  </body>\n</html>\n";
  return out;
}

std::string project_json(std::string_view name, const std::vector<ListedFile>& files) {
  Json j;
  j["meta"] = {{"api-version", "1.0"}};
  j["name"] = std::string(name);
  Json list = Json::array();
  for (const auto& lf : files) {
    const DistFile& f = lf.file;
    Json jf;
    jf["filename"] = f.filename;
    jf["url"] = lf.href;
    jf["hashes"] = {{"sha256", f.sha256}};
    if (f.requires_python) jf["requires-python"] = *f.requires_python;
    if (f.yanked) jf["yanked"] = f.yanked->empty() ? Json(true) : Json(*f.yanked);
    if (f.has_metadata) {
      Json md = f.metadata_sha256.empty() ? Json(true) : Json({{"sha256", f.metadata_sha256}});
      jf["core-metadata"] = md;
      jf["dist-info-metadata"] = md;
    }
    list.push_back(std::move(jf));
  }
  j["files"] = std::move(list);
  return dump(j);
}

std::string root_html(const std::vector<std::string>& names) {
  std::string out = kHead;
  out += "    <title>Simple index</title>\n  </head>\n  <body>\n";
  for (const auto& n : names) {
    out += "    <a href=\"" + html_escape(n) + "/\">" + html_escape(n) + "</a><br/>\n";
  }
  out += "  </body>\n</html>\n";
  return out;
}

std::string root_json(const std::vector<std::string>& names) {
  Json j;
  j["meta"] = {{"api-version", "1.0"}};
  Json list = Json::array();
  for (const auto& n : names) list.push_back({{"name", n}});
  j["projects"] = std::move(list);
  return dump(j);
}

}  // namespace depot::pypi
