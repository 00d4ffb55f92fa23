#pragma once
// OpenFileCache: open descriptors of served-tree files, kept per server thread for a short TTL
// (like nginx's open_file_cache), with each file's header fields rendered once and its body kept
// when small. An immutable file (a blob) is served from its entry as it is; a file that may be
// replaced (an index, a root) is remembered with its identity (device, inode, size, mtime and
// ctime in nanoseconds) and served only while one stat of its path still finds that identity,
// so a new version is served from the moment it is in place, exactly as if opened anew.
// find() and remember() touch only the calling thread's entries: no lock.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <sys/stat.h>

#include "serve/answer.h"

namespace depot {

class OpenFileCache {
 public:
  explicit OpenFileCache(std::chrono::milliseconds ttl);

  // A lean copy of the remembered answer (strings in Answer::prepared), or nullopt. `dir_fd` is
  // the directory `rel` is relative to, for the stat of a validated entry.
  std::optional<Answer> find(const std::string& rel, int dir_fd) const;
  // Remembers a whole-file MIRROR answer for `rel`; `validated`: check its identity on each find
  // (`st` is the file's stat when it was opened).
  void remember(const std::string& rel, const Answer& answer, bool validated,
                const struct stat& st);

 private:
  const uint64_t id_;
  const std::chrono::milliseconds ttl_;
};

}  // namespace depot
