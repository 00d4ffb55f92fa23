#pragma once
// Answer: what `depot serve` sends for one request, as decided by CacheService and sent by
// HttpServer. Plain data; an Answer belongs to one thread at a time, the objects it shares
// (OpenBody, PreparedFile, Download) are safe to share.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/unique_fd.h"
#include "serve/cache_store.h"
#include "serve/download.h"
#include "serve/metrics.h"
#include "serve/request_path.h"

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
  int retry_after = 0;  // seconds, for a Retry-After header (503); 0: none
  // Further header fields of a kText answer (a LocalRoutes page's Cache-Control, ...).
  std::vector<std::pair<std::string, std::string>> fields;
  // The client's interest in `download` (or in the download that produced this answer): dropped
  // with the answer, and a download no one is interested in may be cancelled.
  std::shared_ptr<Download::Interest> interest;
};

// An error answer with a short plain-text message.
Answer error_answer(int status, std::string text);
// A whole-file answer for a served-tree file `f` (its descriptor moves into the answer), typed
// by `name`, with an ETag from its inode, mtime (nanoseconds) and size, and a Last-Modified from
// its mtime (the current time when that is in the future; `mtime`, which preconditions compare,
// stays real). One-second dates cannot tell two versions written in the same second apart; the
// ETag can, and depot's publisher never reuses a second.
Answer file_answer(OpenedFile f, CacheOutcome outcome, std::string_view name);
// The same for a cached copy of an upstream file, typed `content_type`: its ETag is its size and
// mtime (upstream's Last-Modified when it sent one), the ETag its answers had while it was still
// downloading; a new version from upstream is a new file with a new date.
Answer cached_file_answer(OpenedFile f, CacheOutcome outcome, std::string content_type);
// Content-Type of a cached file `key`: PyPI pages keep what upstream said (an HTML-only index
// answers a JSON request with HTML); other files are typed by name, upstream's type filling in
// unknown names.
std::string pick_content_type(std::string_view key, const std::string& upstream_type);

}  // namespace depot
