// The one place registries are registered: one line per registry.

#include <algorithm>

#include "sources/apt/apt_source.h"
#include "sources/conda/conda_source.h"
#include "sources/crates/crates_source.h"
#include "sources/npm/npm_registry.h"
#include "sources/opam/opam_source.h"
#include "sources/pypi/pypi_source.h"
#include "sources/registry.h"
#include "sources/rustup/rustup_source.h"
#include "sources/yum/yum_source.h"

namespace depot {

namespace {

const std::vector<RegistryDescriptor>& descriptors() {
  static const std::vector<RegistryDescriptor> kAll = [] {
    std::vector<RegistryDescriptor> all = {
        apt::descriptor(),
        conda::descriptor(),
        crates::descriptor(),
        npm::descriptor(),
        opam::descriptor(),
        pypi::descriptor(),
        rustup::descriptor(),
        yum::descriptor(),
    };
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return all;
  }();
  return kAll;
}

}  // namespace

const std::vector<const RegistryDescriptor*>& registries() {
  static const std::vector<const RegistryDescriptor*> kAll = [] {
    std::vector<const RegistryDescriptor*> all;
    for (const RegistryDescriptor& d : descriptors()) all.push_back(&d);
    return all;
  }();
  return kAll;
}

const RegistryDescriptor* find_registry(std::string_view name) {
  for (const RegistryDescriptor* r : registries()) {
    if (r->name == name) return r;
  }
  return nullptr;
}

Result<std::unique_ptr<Source>> make_source(const std::string& kind, const SourceOptions& opts) {
  const RegistryDescriptor* r = find_registry(kind);
  if (r == nullptr || !r->factory) {
    std::string known;
    for (const auto& n : source_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown registry kind " + quote_untrusted(kind) + " (known: " + known + ")");
  }
  return r->factory(opts);
}

std::vector<std::string> source_names() {
  std::vector<std::string> names;
  for (const RegistryDescriptor* r : registries()) {
    if (r->factory) names.push_back(r->name);
  }
  return names;
}

}  // namespace depot
