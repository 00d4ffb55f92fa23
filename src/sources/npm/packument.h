#pragma once
// npm packuments (the JSON document an npm registry answers for GET /<name>): parsed and checked,
// trimmed to chosen versions, tarball URLs rewritten, and written in full or in the abbreviated
// form npm asks for with Accept: application/vnd.npm.install-v1+json ("corgi"). The free functions
// are pure and thread-safe; a Packument is not thread-safe.

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/result.h"

namespace depot::npm {

inline constexpr std::string_view kAbbreviatedType = "application/vnd.npm.install-v1+json";

// A package name npm's registry accepts: "name" or "@scope/name", each part 1 to 214 of
// [A-Za-z0-9._~-] not starting with '.' or '_' (upper case is allowed: old packages have it).
bool valid_package_name(std::string_view name);
// A version safe as part of a file name: 1 to 256 of [0-9A-Za-z.+-], starting with a digit.
bool valid_version(std::string_view version);
// A tarball file name safe in a path: 5 to 255 of [A-Za-z0-9._~+-], ending in ".tgz", not
// starting with '.'.
bool valid_tarball_file(std::string_view file);
// semver precedence (build metadata ignored): < 0, 0 or > 0. Versions that do not parse as semver
// order before those that do, and among themselves by their text.
int compare_semver(std::string_view a, std::string_view b);
// The packument's URL path below a registry: "name", or "@scope%2fname" for a scoped name.
std::string packument_url_path(std::string_view name);

// The digests of an SRI string ("sha512-<base64> sha1-<base64>"): sha512 and sha1 as hex. Unknown
// algorithms are skipped; a malformed sha512/sha1 entry is an error.
Result<Digests> parse_integrity(std::string_view sri);

struct Tarball {
  std::string url;   // dist.tarball as upstream wrote it (http or https)
  std::string file;  // its last path segment, e.g. "util-1.0.0.tgz" (a safe file name)
  Digests digests;   // sha512 from dist.integrity and/or sha1 from dist.shasum;
                     // never empty
};

struct VersionInfo {
  std::string version;
  Tarball tarball;
  // Registry packages named by dependencies, optionalDependencies and peerDependencies ("npm:"
  // aliases resolved; file:, git, URL and other non-registry specs left out).
  std::vector<std::string> deps;
  bool deprecated = false;
};

// Maps a version's tarball to the URL a rewritten packument names for it.
using TarballUrlFn = std::function<std::string(std::string_view version, const Tarball&)>;

class Packument {
 public:
  // Parses the packument of package `name` (its "name" must equal it). Every version needs a valid
  // version string equal to its key, an http(s) dist.tarball ending in a safe .tgz file name, and a
  // sha512 integrity or a sha1 shasum; anything else fails the document, naming `where` and the
  // version.
  static Result<Packument> parse(std::string_view json, std::string_view name,
                                 const std::string& where);
  Packument(Packument&&) noexcept;
  Packument& operator=(Packument&&) noexcept;
  ~Packument();

  const std::string& name() const;
  // Listed versions, in semver order.
  const std::vector<VersionInfo>& versions() const;
  // The versions dist-tags name that are listed.
  std::set<std::string> tagged_versions() const;
  // Drops every version not in `keep` from "versions" and "time", and dist-tags naming one.
  void keep_versions(const std::set<std::string>& keep);
  // Sets each version's dist.tarball to url_for(version, tarball).
  void rewrite_tarballs(const TarballUrlFn& url_for);

  // The full document, as JSON (keys sorted).
  std::string full_json() const;
  // The abbreviated document: name, modified, dist-tags and, per version, the fields npm installs
  // from (dependencies, dist, engines, bin, deprecated, ...).
  std::string abbreviated_json() const;

 private:
  struct Impl;
  explicit Packument(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The versions "--versions latest-N" keeps: the `n` highest by semver precedence, plus those
// dist-tags name.
std::set<std::string> latest_versions(const Packument& p, size_t n);

}  // namespace depot::npm
