#pragma once
// CacheService::Fetch: one upstream download in progress and what the service keeps with it.
// Private to the service's .cc files. Guarded by the service's mutex, except started_ns.

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "core/unique_fd.h"
#include "serve/cache_service.h"

namespace depot {

struct CacheService::Fetch {
  std::string key;
  size_t upstream = 0;
  CacheStore::Partial partial;
  std::shared_ptr<Download> download;
  std::optional<CachedMeta> cached;  // the copy being revalidated
  bool page = false;                 // a registry's page: rewritten before it is stored
  UniqueFd page_fd;                  // the rewritten page (a dup for readers)
  uint64_t page_size = 0;
  std::string page_sha256;
  FetchRequest request;
  // Read from the shared tier first (tier_url, else `request` upstream); set before start.
  bool from_tier = false;
  std::string tier_url;
  bool tier_blob = false;  // a blob the tier keeps: offered to it when fetched upstream
  bool tier_hit = false;   // the body came from the tier
  std::atomic<int64_t> started_ns{0};  // clock time of upstream's first answer; 0 before
};

}  // namespace depot
