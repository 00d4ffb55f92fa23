// crates.io sparse index files (upstream bytes) through parse_index_file, the config.json "dl"
// through parse_config_dl, and cargo's download URL template through crate_url. The first line
// names the crate the file is for; the rest is the file. Oracles: every accepted version has a
// valid name of that crate, a valid version and a 64-hex cksum; its index path and mirror path
// are safe relative paths; a template without markers yields dl + "/name/vers/download".

#include <algorithm>
#include <string>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "sources/crates/index_file.h"

using depot::fuzz::check;
namespace crates = depot::crates;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  size_t nl = text.find('\n');
  std::string_view crate = text.substr(0, std::min(nl, size_t{80}));
  std::string_view body = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

  auto dl = crates::parse_config_dl(body, "config.json");
  auto versions = crates::parse_index_file(body, crate, "fuzz");
  if (!versions.ok()) return 0;
  for (const auto& v : *versions) {
    check(crates::valid_crate_name(v.name) && crates::valid_version(v.vers),
          "crates: accepted an invalid name or version");
    check(v.cksum.size() == 64, "crates: accepted a cksum that is not 64 hex digits");
    auto path = crates::index_path(v.name);
    check(path.ok() && depot::RelPath::parse("index/" + *path).ok(),
          "crates: index path of an accepted name is unsafe");
    std::string file = "crates/" + v.name + "/" + v.name + "-" + v.vers + ".crate";
    check(depot::RelPath::parse(file).ok(), "crates: mirror path of an accepted version unsafe");
    for (const auto& d : v.deps) {
      check(crates::valid_crate_name(d.crate), "crates: accepted an invalid dependency name");
    }
    if (dl.ok()) (void)crates::crate_url(*dl, v);
    std::string plain = crates::crate_url("https://dl.example/api", v);
    check(plain == "https://dl.example/api/" + v.name + "/" + v.vers + "/download",
          "crates: plain dl not completed by cargo's rule");
  }
  return 0;
}
