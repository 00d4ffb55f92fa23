#pragma once
// Answer: what `depot serve` sends for one request, as decided by CacheService and sent by
// HttpServer. Plain data; an Answer belongs to one thread at a time, the objects it shares
// (OpenBody, PreparedFile, Download) are safe to share.

#include <cstdint>
#include <memory>
#include <string>

#include "core/unique_fd.h"
#include "serve/cache_store.h"
#include "serve/download.h"
#include "serve/metrics.h"

namespace depot {

// An open file kept alive for as long as the answer is being sent.
struct OpenBody {
  UniqueFd fd;
  CacheStore::Pin pin;
  std::shared_ptr<Download> download;  // keeps a finished download's file alive
};

// A served-tree file as the open-file cache keeps it: its header fields rendered once, and the
// body itself when it is small. Immutable once built; shared between threads.
struct PreparedFile {
  std::string content_type, etag, last_modified;
  // "Content-Type: ...\r\nETag: ...\r\nLast-Modified: ...\r\nAccept-Ranges: bytes\r\n"
  // "X-Depot-Cache: MIRROR\r\nContent-Length: N\r\n"
  std::string fields;
  bool has_bytes = false;
  std::string bytes;  // the whole body when has_bytes
};

struct Answer {
  enum class Kind {
    kFile,      // a complete file: body->fd, size, mtime
    kStream,    // a download in progress: follow `download` (Content-Length = size)
    kText,      // a generated body (listing): text
    kRedirect,  // 301 to `location`
    kError,     // status + text (a short message)
  };
  Kind kind = Kind::kError;
  int status = 200;
  CacheOutcome outcome = CacheOutcome::kNone;
  bool stale = false;
  std::shared_ptr<OpenBody> body;
  std::shared_ptr<Download> download;
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds; 0 when unknown
  std::string content_type;
  std::string etag;   // set for kFile; for kStream when upstream declared Last-Modified
  std::string last_modified;
  std::string text;
  std::string location;
  // Set for open-file cache hits; content_type/etag/last_modified are then empty here and
  // live in `prepared`.
  std::shared_ptr<const PreparedFile> prepared;
};

}  // namespace depot
