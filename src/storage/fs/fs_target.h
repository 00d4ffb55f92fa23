#pragma once
// The local filesystem Target: a directory tree. Temporary files live in `root/.depot/tmp/`
// (same filesystem, so a commit is a rename; clear_debris() empties it); the rest of
// `root/.depot/` is private state, never listed.

#include <filesystem>
#include <memory>

#include "storage/target.h"

namespace depot {

// Opens (creating if missing) the tree at `root`.
Result<std::unique_ptr<Target>> open_fs_target(const std::filesystem::path& root);

}  // namespace depot
