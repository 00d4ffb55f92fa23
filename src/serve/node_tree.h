#pragma once
// Filesystem operations of a storage node beneath its directory, none of which follows a
// symlink: a directory planted as a symlink (or a file where a directory should be) stops the
// operation instead of leading it out of the tree. Paths are relative ("a/b/c"), already
// validated (RelPath). Thread-safe as far as the filesystem is; callers serialise operations
// that must not interleave (NodeStore's mutex).

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"

namespace depot {

// Opens directory `rel` ("" = the root itself) beneath `root_fd`, walking each component with
// O_NOFOLLOW, and creates missing components when `create`. Errors: kNotFound (missing, and not
// `create`), kUnsafePath "<rel>: not a directory (a file or symlink is in the way)", kIo.
Result<UniqueFd> open_dir_beneath(int root_fd, std::string_view rel, bool create);

// Removes the directories of `rel_dir` that are empty, deepest first, stopping at the first one
// that is not (or cannot be removed); never the root. Best effort.
void prune_empty_dirs(int root_fd, std::string_view rel_dir);

// Nanoseconds since the epoch of a stat's mtime.
int64_t mtime_ns(const struct stat& st);

// Every regular file beneath `root_fd`, depth first. `keep(rel, is_dir)` decides whether an
// entry is visited (false: a skipped directory is not entered). Symlinks and special files are
// never followed nor reported; each is counted in *skipped. `fn(rel, dir_fd, name, st)` gets
// the file's directory (open for the call) and its lstat; an error from it stops the walk.
using TreeVisitor =
    std::function<Status(const std::string& rel, int dir_fd, const char* name,
                         const struct stat& st)>;
Status walk_tree(int root_fd, const std::function<bool(std::string_view rel, bool is_dir)>& keep,
                 const TreeVisitor& fn, uint64_t* skipped);

// Hex sha256 of the file `fd` from its start to its end; errors name `what`.
Result<std::string> sha256_of_fd(int fd, std::string_view what, uint64_t* bytes = nullptr);

}  // namespace depot
