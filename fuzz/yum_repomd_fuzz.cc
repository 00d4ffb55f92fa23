// yum repomd.xml: parse_repomd, and serve's RootIndex over it.

#include <string>

#include "core/text.h"
#include "fuzz_util.h"
#include "serve/root_index.h"
#include "sources/yum/repomd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  auto repomd = depot::yum::parse_repomd(text, "repomd.xml");
  std::string rel = "centos/repodata/primary.xml.gz";
  if (repomd.ok()) {
    for (const auto& d : repomd->data) {
      depot::fuzz::check(!d.type.empty() && !d.href.empty() && !d.checksum.empty(),
                         "repomd: data without type, href or checksum");
      (void)repomd->find(d.type);
    }
    if (!repomd->data.empty()) rel = "centos/" + repomd->data[0].href;
  }
  depot::RootIndex index;
  (void)index.lookup("centos/repodata/repomd.xml", "v1", text, rel);
  (void)depot::parse_u64(text.substr(0, 24));
  (void)depot::yum::checksum_algo(text.substr(0, 8));
  return 0;
}
