#pragma once
// Counters and gauges of `depot serve`, rendered in the Prometheus text exposition format
// (version 0.0.4). Every member is a relaxed atomic: safe to update from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace depot {

// How a request was answered, for metrics and the access log.
enum class CacheOutcome {
  kNone,         // not a file answer (error, redirect, listing, metrics)
  kMirror,       // served from the mirrored tree; never goes upstream
  kHit,          // fresh cached copy
  kRevalidated,  // cached copy confirmed by a conditional upstream request (304)
  kMiss,         // this request started the upstream download
  kCoalesced,    // attached to a download another request started
  kStale,        // cached copy served because upstream failed or its circuit is open
};
constexpr int kCacheOutcomeCount = 7;
const char* cache_outcome_name(CacheOutcome o);  // "-", "MIRROR", "HIT", "REVALIDATED", ...

// Why the proxy refused a request: a host not allowed, a scheme other than http://, CONNECT,
// a malformed target (userinfo, a bad host, a Host header naming another host).
inline constexpr const char* kProxyRefusals[4] = {"host", "scheme", "connect", "malformed"};
// The index of `reason` in kProxyRefusals (an unknown one counts as "malformed").
int proxy_refusal_index(std::string_view reason);

struct ServeMetrics {
  using Counter = std::atomic<uint64_t>;
  // Requests by status class: index 1..5 for 1xx..5xx (0 unused).
  std::array<Counter, 6> requests_by_class{};
  std::array<Counter, kCacheOutcomeCount> outcomes{};  // indexed by CacheOutcome
  Counter bytes_sent{0};             // body bytes written to clients
  Counter upstream_requests{0};      // upstream fetches started (including revalidations)
  Counter upstream_errors{0};        // upstream fetches that failed (network, 5xx, digest)
  Counter upstream_bytes{0};         // body bytes received from upstream
  Counter revalidations{0};          // conditional requests sent upstream
  Counter negative_hits{0};          // 404 answered from the negative cache
  Counter evictions{0};              // files removed by the size cap or an upstream 404
  Counter upstream_queue_timeouts{0};  // misses answered 503: no upstream worker in time
  Counter upstream_cancelled{0};     // downloads cancelled because every client left
  Counter upstream_abandoned_kept{0};  // downloads every client left, finished for the cache
  Counter client_aborts{0};          // clients that went away while waiting for an answer
  Counter connections_refused{0};    // connections closed at once: --max-connections reached
  Counter slow_clients_cut{0};       // connections closed: no progress or below --min-send-rate
  // The shared cache tier (--cache-bucket), when there is one.
  Counter tier_hits{0};              // local misses answered from the tier
  Counter tier_misses{0};            // local misses the tier did not hold either
  Counter tier_errors{0};            // tier reads or writes that failed (upstream was asked)
  Counter tier_stored{0};            // blobs copied to the tier
  Counter tier_stored_bytes{0};
  Counter tier_dropped{0};           // blobs not copied: the write-behind queue was full
  // Usage-driven prefetch (--prefetch-budget).
  Counter prefetch_queued{0};        // files queued to be fetched ahead of clients
  Counter prefetch_done{0};          // of those, fetched (or found cached)
  Counter prefetch_failed{0};
  Counter prefetch_refused{0};       // not queued: larger than the budget, or the queue full
  Counter prefetch_bytes{0};         // bytes of the files prefetched
  Counter prefetch_hits{0};          // client requests for a file a prefetch fetched
  std::atomic<int64_t> prefetch_waiting{0};  // gauge: queued, waiting for budget or a slot
  std::atomic<int64_t> prefetch_running{0};  // gauge
  std::atomic<int64_t> usage_names{0};       // gauge: packages used within the window
  // The forward proxy (--proxy): absolute-form requests answered for an allow-listed host,
  // and requests refused, by kProxyRefusals reason.
  Counter proxy_requests{0};
  std::array<Counter, 4> proxy_refused{};
  std::atomic<int64_t> inflight_downloads{0};  // gauge
  std::atomic<int64_t> upstream_queued{0};     // gauge: misses waiting for an upstream worker
  std::atomic<int64_t> open_connections{0};    // gauge
  std::atomic<int64_t> cache_bytes{0};         // gauge: bytes in the cache directory
  std::atomic<int64_t> cache_files{0};         // gauge
  std::atomic<int64_t> cache_limit_bytes{0};   // gauge: --cache-size, 0 = unlimited
  std::atomic<int64_t> known_pool_files{0};    // gauge: .debs whose digest the cache knows
};

// Renders every metric with HELP and TYPE lines, names prefixed "depot_serve_", e.g.
//   depot_serve_requests_total{code="2xx"} 12
//   depot_serve_cache_requests_total{outcome="hit"} 7
//   depot_serve_sent_bytes_total 123
//   depot_serve_upstream_inflight 0
//   depot_serve_cache_size_bytes 4096
std::string render_prometheus(const ServeMetrics& m);

}  // namespace depot
