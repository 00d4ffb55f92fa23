#pragma once
// Downloader: performs batches of HTTP(S) fetches on the libcurl multi interface with
// keep-alive, HTTP/2 where offered, per-host self-scaling concurrency and retries.
// Bytes stream into a ByteSink; digests and size are checked while they stream, never in a
// second pass. Only the downloader retries (see RetryPolicy).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/clock.h"
#include "core/digest.h"
#include "core/logger.h"
#include "core/result.h"
#include "transfer/retry_policy.h"

namespace depot {

// What a 2xx response declared, before its first body byte.
struct ResponseStart {
  long http_status = 0;
  int64_t content_length = -1;  // -1: not declared
  std::string content_type;
  std::string etag;
  std::string last_modified;
};

struct FetchRequest {
  std::string url;
  // When set: a longer body is cut off and fails (kSizeMismatch); a shorter one fails too.
  std::optional<uint64_t> expected_size;
  // Without expected_size: a body longer than this is cut off and fails for good (a hostile or
  // broken upstream must not fill the disk). Unset: DownloadOptions::max_unknown_size.
  std::optional<uint64_t> max_size;
  // Every digest set here is verified while bytes stream; sha256 is always computed.
  Digests expected;
  // Conditional request validators; a 304 answer completes with not_modified = true and no
  // bytes written to the sink.
  std::string if_none_match;
  std::string if_modified_since;
  // Accept header value; empty sends curl's default.
  std::string accept;
  // False: a 3xx answer fails (kHttp) and its Location is never asked.
  bool follow_redirects = true;
  // Called on the downloader's thread before the first body byte of each 2xx attempt (again
  // after a retry). An empty body never calls it. Must not throw.
  std::function<void(const ResponseStart&)> on_start;
  // When set and true, the transfer is given up (kRefused "cancelled", never retried) within
  // about a second, even while upstream sends nothing. Set from any thread.
  std::shared_ptr<std::atomic<bool>> cancel;
  // A 404/410 answer is reported as kNotFound and never retried. A host that cannot be reached
  // at all (DNS, refused, connect timeout, TLS handshake) is kUnreachable; failures after a
  // connection was made are kNetwork.
};

struct FetchResult {
  long http_status = 0;
  bool not_modified = false;
  uint64_t bytes = 0;
  Digests digests;  // computed over the body; includes sha256 and each expected algorithm
  std::string etag;
  std::string last_modified;
  int attempts = 1;
};

struct DownloadJob {
  FetchRequest request;
  ByteSink* sink = nullptr;  // not owned; must outlive run(); reset() before each retry
};

struct DownloadProgress {
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  uint64_t bytes_done = 0;   // bytes received, including those of failed attempts
  uint64_t bytes_expected = 0;  // sum of expected sizes where known
  int active = 0;            // transfers in flight
};

// Requests whose URL starts with `url_prefix` (an S3 bucket in path style, e.g.
// "http://host:port/bucket/prefix") are signed with AWS SigV4 (libcurl's CURLOPT_AWS_SIGV4), their
// path re-encoded in the canonical form SigV4 requires.
struct SigV4Scope {
  std::string url_prefix;
  std::string region;
  std::string access_key, secret_key, session_token;
};

struct DownloadOptions {
  int fixed_concurrency = 0;    // > 0: exactly this many per host (the --concurrency override)
  int initial_concurrency = 8;  // per host, when auto-scaling
  // Per host, when auto-scaling (--max-concurrency). The limit reaches it only while each step
  // up raises throughput, i.e. on a host whose answers take long (distant, many small files)
  // and that keeps up; a saturated host stops the growth, 429/503/timeouts halve the limit.
  int max_concurrency = 256;
  std::chrono::milliseconds connect_timeout{10000};
  // A transfer slower than low_speed_bytes per second for low_speed_time fails (transient).
  long low_speed_bytes = 1;
  std::chrono::seconds low_speed_time{30};
  std::string user_agent = "depot/0.1";
  RetryPolicy retry;
  // Cap on a body whose size nobody declared (FetchRequest::max_size overrides).
  uint64_t max_unknown_size = 16ull << 30;
  std::vector<SigV4Scope> sigv4;  // signed URL prefixes (S3 buckets)
};

class Downloader {
 public:
  virtual ~Downloader() = default;

  using DoneFn = std::function<void(size_t index, const Result<FetchResult>& result)>;
  using ProgressFn = std::function<void(const DownloadProgress&)>;

  // Performs every job, retrying transient failures per the retry policy; blocks until all
  // are finished. `on_done` is called exactly once per job, on the calling thread, as soon as
  // that job finishes (finally succeeded, or failed for good). `on_progress`, if set, is called
  // on the calling thread at most every 200 ms. Not reentrant; one run() at a time.
  virtual void run(std::span<DownloadJob> jobs, const DoneFn& on_done,
                   const ProgressFn& on_progress = nullptr) = 0;

  // Convenience: one fetch, with retries.
  Result<FetchResult> fetch(const FetchRequest& request, ByteSink& sink);
};

std::unique_ptr<Downloader> make_curl_downloader(const DownloadOptions& options, Clock& clock,
                                                 Logger& logger);

// Makes a Downloader with `options` (one per download loop of a run). Called from several
// threads at once.
using DownloaderFactory = std::function<std::unique_ptr<Downloader>(const DownloadOptions&)>;

}  // namespace depot
