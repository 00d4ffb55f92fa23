// The one place registries are registered by name.

#include <map>

#include "sources/apt/apt_source.h"
#include "sources/conda/conda_source.h"
#include "sources/pypi/pypi_source.h"
#include "sources/source.h"
#include "sources/yum/yum_source.h"

namespace depot {
namespace {

const std::map<std::string, SourceFactory>& registry() {
  static const std::map<std::string, SourceFactory> kRegistry = {
      {"apt", apt::make_apt_source},
      {"conda", conda::make_conda_source},
      {"pypi", pypi::make_pypi_source},
      {"yum", yum::make_yum_source},
  };
  return kRegistry;
}

}  // namespace

Result<std::unique_ptr<Source>> make_source(const std::string& kind, const SourceOptions& opts) {
  auto it = registry().find(kind);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : source_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown registry kind " + quote_untrusted(kind) + " (known: " + known + ")");
  }
  return it->second(opts);
}

std::vector<std::string> source_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : registry()) names.push_back(name);
  return names;
}

}  // namespace depot
