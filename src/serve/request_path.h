#pragma once
// Request targets and safe file lookup for `depot serve`. Pure functions; thread-safe.

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"

namespace depot {

struct RequestPath {
  std::string rel;             // decoded, no leading '/', "" for the root; components joined by '/'
  bool trailing_slash = false; // the target named a directory ("/a/b/")
  std::string query;           // raw text after '?', without it
};

// Decodes an origin-form request target ("/a/b%2Bc/?x=1").
// Accepted: starts with '/'; repeated slashes are merged. Percent escapes are decoded once.
// Refused with kUnsafePath (the caller answers 400): absolute-form or anything not starting with
// '/'; a bad or truncated %-escape; a decoded NUL, '/', or '\\' from an escape; any control byte
// (< 0x20 or 0x7f); a backslash; a "." or ".." component; a component over 255 bytes; a
// decoded path over 4096 bytes; a '#'.
// Refused with kNotFound: any component that starts with ".depot" (private state, never served).
Result<RequestPath> parse_request_target(std::string_view target);

// Percent-encodes a relative path for use in an href or a URL (unreserved bytes and '/' kept).
std::string escape_path_for_url(std::string_view rel);

struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
};

// Opens `rel` (as produced by parse_request_target; "" is the root itself) read-only beneath the
// directory `root_fd`, with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a symlink is
// followed only when it stays beneath root_fd. Regular files and directories are returned
// (check st.st_mode); anything else (fifo, socket, device) is kNotFound.
// Errors: kNotFound (ENOENT/ENOTDIR/ENAMETOOLONG/ENXIO/other types), kUnsafePath (EXDEV/ELOOP:
// the path or a symlink leaves the root), kIo otherwise. O_NONBLOCK is not set; O_CLOEXEC is.
Result<OpenedFile> open_beneath(int root_fd, std::string_view rel);

}  // namespace depot
