#pragma once
// Creating the daemon's listening unix socket so that its path never exists with another mode.

#include <sys/types.h>

#include <filesystem>

#include "core/result.h"
#include "core/unique_fd.h"

namespace depot::pool {

struct ListeningSocket {
  UniqueFd fd;    // AF_UNIX stream socket, listening, close-on-exec
  dev_t dev = 0;  // identity of the socket file at `path`
  ino_t ino = 0;
};

// A listening socket at `path` with file mode `mode`: bound in a private 0700 directory made
// beside `path`, given `mode`, listening, then moved to `path` without replacing anything
// (renameat2 RENAME_NOREPLACE; link()+unlink() where the file system lacks it). kRefused when
// `path` exists by then; kInvalidArgument for a path too long for a unix socket; kIo otherwise,
// naming `path`. The private directory is removed in every case.
Result<ListeningSocket> listen_unix_in_place(const std::filesystem::path& path, unsigned mode);

// Whether `path` still names the file (dev, ino); false when it is gone or replaced.
bool is_same_file(const std::filesystem::path& path, dev_t dev, ino_t ino);

}  // namespace depot::pool
