// conda's descriptor: package files (.conda, and .tar.bz2 other than repodata) never change;
// repodata.json is an index naming the packages of its subdir.

#include "core/rel_path.h"
#include "sources/conda/conda_source.h"
#include "sources/conda/repodata.h"
#include "sources/decompress.h"

namespace depot::conda {
namespace {

bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  return name.ends_with(".conda") || (name.ends_with(".tar.bz2") && !name.starts_with("repodata"));
}

// NAME-VERSION-BUILD.conda (or .tar.bz2)
std::optional<std::string> package_name(std::string_view name) {
  std::string_view stem;
  if (name.ends_with(".conda")) {
    stem = name.substr(0, name.size() - 6);
  } else if (name.ends_with(".tar.bz2") && !name.starts_with("repodata")) {
    stem = name.substr(0, name.size() - 8);
  } else {
    return std::nullopt;
  }
  std::string_view n = drop_dash_fields(stem, 2);
  if (n.empty()) return std::nullopt;
  return std::string(n);
}

bool names_packages(std::string_view key) {
  std::string_view name = rel_filename(key);
  return name.starts_with("repodata.json") || name.starts_with("current_repodata.json");
}

// A repodata with a base_url names packages that live elsewhere: none here.
Result<NamedFiles> read_package_index(std::string_view key, const std::filesystem::path& file) {
  const std::string name(key);
  std::string json;
  Status st = read_decompressed(file, name, [&](std::string_view chunk) {
    json.append(chunk);
    return Status{};
  });
  if (!st.ok()) return st.error();
  auto repodata = parse_repodata(json, name);
  if (!repodata.ok()) return repodata.error();
  NamedFiles out;
  if (!repodata->base_url.empty()) return out;
  std::string_view subdir = rel_parent(key);
  for (auto& p : repodata->packages) {
    out.emplace_back(rel_join(subdir, p.filename), NamedFile{p.size, std::move(p.digests), {}});
  }
  return out;
}

}  // namespace

RegistryDescriptor descriptor() {
  RegistryDescriptor d;
  d.name = "conda";
  d.upstream_help = "a conda subdir, or a channel root with --subdir";
  d.factory = make_conda_source;
  d.options = {{"--subdir", "subdir", RegistryOption::Kind::kList,
                "mirror these subdirs of the channel root"}};
  d.paths.is_blob = is_blob;
  d.paths.types = {{"conda", "application/octet-stream"}};
  d.paths.names_packages = names_packages;
  d.paths.read_package_index = read_package_index;
  d.paths.package_name = package_name;
  return d;
}

}  // namespace depot::conda
