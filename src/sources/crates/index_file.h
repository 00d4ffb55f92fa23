#pragma once
// crates.io's index: the path of a crate's index file, its JSON lines (one version each), the
// registry's config.json and cargo's download URL template. Pure; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot::crates {

struct Dependency {
  std::string crate;     // the crate depended on (its "package" when renamed, else "name")
  std::string registry;  // another registry's index URL; "" for this registry
};

struct Version {
  std::string name;   // as the index spells it (crate names compare case-insensitively)
  std::string vers;   // semver
  std::string cksum;  // sha256 of the .crate, lowercase hex
  bool yanked = false;
  std::vector<Dependency> deps;  // every kind: normal, build, dev
};

// A crate name as crates.io accepts it: 1 to 64 of [A-Za-z0-9_-], starting with a letter.
bool valid_crate_name(std::string_view name);
// A version safe as part of a file name: 1 to 128 of [0-9A-Za-z.+-], starting with a digit.
bool valid_version(std::string_view vers);

// The index file of `name`, lowercase: "1/a", "2/ab", "3/a/abc", "ab/cd/abcd..."; kUnsafePath
// for a name that is not valid.
Result<std::string> index_path(std::string_view name);

// The versions in index file `text` of crate `crate`; `where` names it in errors. Blank lines
// are skipped; a line that is not JSON, names another crate, or carries an invalid name,
// version or cksum fails the whole file.
Result<std::vector<Version>> parse_index_file(std::string_view text, std::string_view crate,
                                              const std::string& where);

// The "dl" of a registry's config.json; kParse naming `where` when it is missing or not http(s).
Result<std::string> parse_config_dl(std::string_view json, const std::string& where);

// Where cargo downloads `v` from with download template `dl`: the markers {crate}, {version},
// {prefix}, {lowerprefix} and {sha256-checksum} replaced, or "/{crate}/{version}/download"
// appended when `dl` has none.
std::string crate_url(std::string_view dl, const Version& v);

}  // namespace depot::crates
