#pragma once
// The shared cache tier of `depot serve --cache-bucket s3://bucket/prefix`: blobs kept as
// objects named by their cache key under the prefix, each stored with its sha256
// (x-amz-meta-sha256), declared to the server so it refuses any other bytes; files larger
// than a part go up in parts. Thread-safe.

#include <memory>
#include <string>

#include "cli/target_options.h"
#include "core/result.h"
#include "serve/cache_tier.h"

namespace depot {

// Opens `url` (s3://bucket/prefix) with the endpoint, region and credentials of `args`; the
// bucket is listed once, so a missing bucket or bad credentials fail here, naming the bucket.
Result<std::unique_ptr<CacheTier>> open_s3_cache_tier(const std::string& url,
                                                      const TargetArgs& args);

}  // namespace depot
