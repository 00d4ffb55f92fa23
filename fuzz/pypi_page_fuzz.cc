// PyPI project pages (PEP 691 JSON, PEP 503 HTML): parse_project_json/html/page. Oracle: what
// the mirror writes for an accepted page (project_html, project_json, with the links
// pypi_source makes) reads back to the same files.

#include <simdjson.h>

#include <optional>
#include <string>
#include <vector>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "sources/pypi/simple_index.h"
#include "sources/pypi/simple_pages.h"
#include "sources/source.h"

namespace {

using depot::pypi::DistFile;
using depot::pypi::ProjectPage;

constexpr const char* kUrl = "https://pypi.example/simple/proj/";

std::string describe(const DistFile& f) {
  return "filename=" + depot::quote_untrusted(f.filename) + " sha256=" + f.sha256 +
         " requires_python=" +
         (f.requires_python ? depot::quote_untrusted(*f.requires_python) : "-") +
         " yanked=" + (f.yanked ? depot::quote_untrusted(*f.yanked) : "-") +
         " metadata=" + (f.has_metadata ? "yes " + f.metadata_sha256 : "no");
}

bool utf8(const std::optional<std::string>& s) {
  return !s || simdjson::validate_utf8(s->data(), s->size());
}

// Texts that are not UTF-8 become U+FFFD in the JSON page (known, left alone): compared only
// when they are UTF-8.
bool same_file(const DistFile& a, const DistFile& b) {
  return a.filename == b.filename && a.sha256 == b.sha256 &&
         (!utf8(a.requires_python) || a.requires_python == b.requires_python) &&
         (!utf8(a.yanked) || a.yanked == b.yanked) && a.has_metadata == b.has_metadata &&
         a.metadata_sha256 == b.metadata_sha256;
}

void check_round_trip(const ProjectPage& page) {
  std::vector<depot::pypi::ListedFile> listed;
  for (const DistFile& f : page.files) {
    const std::string& sha = f.sha256;
    std::string href = "../../packages/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" +
                       sha.substr(4) + "/" + depot::escape_url_segment(f.filename);
    listed.push_back({f, href});
  }
  for (bool json : {false, true}) {
    std::string body = json ? depot::pypi::project_json("proj", listed)
                            : depot::pypi::project_html("proj", listed);
    auto back = depot::pypi::parse_project_page(body, kUrl);
    depot::fuzz::check(back.ok(), json ? "pypi: own JSON page does not parse"
                                       : "pypi: own HTML page does not parse");
    depot::fuzz::check(back->files.size() == page.files.size(), "pypi: round trip file count");
    for (size_t i = 0; i < page.files.size(); ++i) {
      if (!same_file(page.files[i], back->files[i])) {
        std::fprintf(stderr, "read:    %s\nwritten: %s\n", describe(page.files[i]).c_str(),
                     describe(back->files[i]).c_str());
      }
      depot::fuzz::check(
          same_file(page.files[i], back->files[i]),
          json ? "pypi: JSON round trip changed a file" : "pypi: HTML round trip changed a file");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  (void)depot::pypi::parse_project_json(text, kUrl);
  (void)depot::pypi::parse_project_html(text, kUrl);
  auto page = depot::pypi::parse_project_page(text, kUrl);
  if (page.ok()) {
    for (const DistFile& f : page->files) {
      depot::fuzz::check(
          depot::pypi::check_filename(f.filename, kUrl).ok() && f.sha256.size() == 64,
          "pypi: accepted a file with an unsafe name or no sha256");
      depot::fuzz::check(f.url.starts_with("http://") || f.url.starts_with("https://"),
                         "pypi: accepted a non-http(s) file URL");
    }
    check_round_trip(*page);
  }
  return 0;
}
