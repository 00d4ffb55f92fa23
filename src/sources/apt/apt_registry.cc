// apt's descriptor: `depot mirror apt` options and what a server must know of an archive's
// paths (pool files and by-hash copies never change; dists/**/InRelease, Release and
// Release.gpg are the roots).

#include "sources/apt/apt_source.h"

namespace depot::apt {
namespace {

using Kind = RegistryOption::Kind;

bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  if (parts.size() >= 3 && parts[parts.size() - 3] == "by-hash" && name.size() >= 32 &&
      all_hex(name)) {
    return true;
  }
  return has_ancestor(parts, "pool") &&
         (ends_with_any(name, {".deb", ".udeb", ".ddeb", ".dsc", ".diff.gz", ".buildinfo",
                               ".changes", ".tar"}) ||
          name.find(".tar.") != std::string_view::npos);
}

bool is_root(PathParts parts) {
  std::string_view name = parts.back();
  return has_ancestor(parts, "dists") &&
         (name == "InRelease" || name == "Release" || name == "Release.gpg");
}

RegistryDescriptor describe() {
  RegistryDescriptor d;
  d.name = "apt";
  d.upstream_help = "an apt archive root (the directory holding dists/)";
  d.factory = make_apt_source;
  d.options = {
      {"--dist", "dist", Kind::kList,
       "distributions to mirror, e.g. bookworm,bookworm-updates (required)"},
      {"--component", "component", Kind::kList,
       "components, e.g. main,contrib (default: every one the Release lists)"},
      {"--arch", "arch", Kind::kList,
       "architectures, e.g. amd64,all; 'source' adds source packages (default: every one the "
       "Release lists)"},
      {"--keyring", "keyring", Kind::kFile,
       "verify InRelease / Release.gpg with gpgv against this keyring (binary or "
       "ASCII-armored); a bad or missing signature fails the run"},
      {"--contents", "contents", Kind::kFlag, "mirror Contents-<arch> files too"},
  };
  d.paths.is_blob = is_blob;
  d.paths.is_root = is_root;
  d.paths.root_names = {"InRelease", "Release", "Release.gpg"};
  d.paths.types = {{"deb", "application/vnd.debian.binary-package"},
                   {"udeb", "application/vnd.debian.binary-package"},
                   {"ddeb", "application/vnd.debian.binary-package"},
                   {"dsc", "text/plain; charset=utf-8"},
                   {"changes", "text/plain; charset=utf-8"},
                   {"buildinfo", "text/plain; charset=utf-8"}};
  d.paths.text_names = {"Release", "InRelease", "Packages", "Sources", "Index"};
  d.paths.text_prefixes = {"Contents-", "Translation-"};
  return d;
}

}  // namespace

const RegistryDescriptor& registry() {
  static const RegistryDescriptor kApt = describe();
  return kApt;
}

}  // namespace depot::apt
