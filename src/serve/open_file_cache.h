#pragma once
// OpenFileCache: open descriptors of served-tree files, kept per server thread for a short TTL
// (like nginx's open_file_cache), with each file's header fields rendered once and its body kept
// when small. A file replaced on disk may be served in its old version for up to the TTL, so
// the caller keeps only immutable files (blobs) here.
// find() and remember() touch only the calling thread's entries: no lock.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "serve/answer.h"

namespace depot {

class OpenFileCache {
 public:
  explicit OpenFileCache(std::chrono::milliseconds ttl);

  // A lean copy of the remembered answer (strings in Answer::prepared), or nullopt.
  std::optional<Answer> find(const std::string& rel) const;
  // Remembers a whole-file MIRROR answer for `rel`.
  void remember(const std::string& rel, const Answer& answer);

 private:
  const uint64_t id_;
  const std::chrono::milliseconds ttl_;
};

}  // namespace depot
