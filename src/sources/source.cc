#include "sources/source.h"

namespace depot {

Entry index_entry(const RelPath& path, const std::string& url, Stage stage,
                  const FetchedIndex& fetched) {
  return Entry{.path = path,
               .size = fetched.size,
               .digests = fetched.digests,
               .url = url,
               .stage = stage,
               .local = fetched.local,
               .unchanged = fetched.unchanged,
               .etag = fetched.etag,
               .last_modified = fetched.last_modified};
}

std::string join_url(std::string_view base, std::string_view rel) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  out += '/';
  out += rel;
  return out;
}

}  // namespace depot
