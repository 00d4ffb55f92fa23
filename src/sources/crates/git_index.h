#pragma once
// crates.io's git index as a list of crate names: the sparse protocol has no listing, so a full
// mirror enumerates the index files of the git index repository's HEAD.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/logger.h"
#include "core/result.h"

namespace depot::crates {

inline constexpr char kCratesIoGitIndex[] = "https://github.com/rust-lang/crates.io-index";

// The crate an index repository path names: "3/a/abc" -> "abc"; nullopt for paths that are no
// index file (config.json, dot-files and anything below a dot-directory). A path that is
// neither, or whose directories are not the name's index_path, is kParse naming `url` and the
// path. Pure; thread-safe.
Result<std::optional<std::string>> crate_of_index_path(std::string_view path,
                                                       const std::string& url);

// Every crate named by the tree of HEAD of the git index at `url` (anything libgit2 fetches:
// https://, file://, a local path), sorted, once each. The repository is fetched into the bare
// repository `cache` (created on first use; a later call fetches only commits it lacks; a
// cache that cannot be opened is recreated). Errors name `url` (unreachable: kUnreachable) or
// `cache` (kIo). Not thread-safe for the same `cache`.
Result<std::vector<std::string>> enumerate_git_index(const std::string& url,
                                                     const std::filesystem::path& cache,
                                                     Logger& logger);

}  // namespace depot::crates
