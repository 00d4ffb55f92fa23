#include "serve/metrics.h"

#include <cinttypes>
#include <cstdio>
#include <span>

namespace depot {
namespace {

constexpr const char* kOutcomeLabels[kCacheOutcomeCount] = {
    "none", "mirror", "hit", "revalidated", "miss", "coalesced", "stale"};

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP depot_serve_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE depot_serve_";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const char* labels, uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, " %" PRIu64 "\n", value);
  out += "depot_serve_";
  out += name;
  out += labels;
  out += buf;
}

void sample(std::string& out, const char* name, int64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, " %" PRId64 "\n", value);
  out += "depot_serve_";
  out += name;
  out += buf;
}

void counter(std::string& out, const char* name, const char* help, const ServeMetrics::Counter& c) {
  header(out, name, "counter", help);
  sample(out, name, "", c.load(std::memory_order_relaxed));
}

void gauge(std::string& out, const char* name, const char* help, const std::atomic<int64_t>& g) {
  header(out, name, "gauge", help);
  sample(out, name, g.load(std::memory_order_relaxed));
}

// One series per label value: NAME{KEY="values[i]"} counters[i].
void labelled(std::string& out, const char* name, const char* help, const char* key,
              std::span<const char* const> values, std::span<const ServeMetrics::Counter> counters) {
  header(out, name, "counter", help);
  for (size_t i = 0; i < values.size(); ++i) {
    std::string labels = std::string("{") + key + "=\"" + values[i] + "\"}";
    sample(out, name, labels.c_str(), counters[i].load(std::memory_order_relaxed));
  }
}

}  // namespace

const char* cache_outcome_name(CacheOutcome o) {
  switch (o) {
    case CacheOutcome::kNone:
      return "-";
    case CacheOutcome::kMirror:
      return "MIRROR";
    case CacheOutcome::kHit:
      return "HIT";
    case CacheOutcome::kRevalidated:
      return "REVALIDATED";
    case CacheOutcome::kMiss:
      return "MISS";
    case CacheOutcome::kCoalesced:
      return "COALESCED";
    case CacheOutcome::kStale:
      return "STALE";
  }
  return "-";
}

int proxy_refusal_index(std::string_view reason) {
  for (int i = 0; i < 4; ++i) {
    if (reason == kProxyRefusals[i]) return i;
  }
  return 3;
}

std::string render_prometheus(const ServeMetrics& m) {
  std::string out;
  out.reserve(4096);
  header(out, "requests_total", "counter", "HTTP requests answered, by status class.");
  for (int cls = 1; cls <= 5; ++cls) {
    char labels[32];
    std::snprintf(labels, sizeof labels, "{code=\"%dxx\"}", cls);
    sample(out, "requests_total", labels, m.requests_by_class[cls].load(std::memory_order_relaxed));
  }
  labelled(out, "cache_requests_total",
           "Requests by how they were answered (mirror tree, cache hit, miss, ...).", "outcome",
           kOutcomeLabels, m.outcomes);
  counter(out, "sent_bytes_total", "Body bytes written to clients.", m.bytes_sent);
  counter(out, "upstream_requests_total", "Upstream fetches started, revalidations included.",
          m.upstream_requests);
  counter(out, "upstream_errors_total", "Upstream fetches that failed.", m.upstream_errors);
  counter(out, "upstream_received_bytes_total", "Body bytes received from upstream.",
          m.upstream_bytes);
  counter(out, "revalidations_total", "Conditional requests sent upstream.", m.revalidations);
  counter(out, "negative_cache_hits_total", "404 answers served from the negative cache.",
          m.negative_hits);
  counter(out, "evictions_total", "Cached files removed by the size cap or an upstream 404.",
          m.evictions);
  counter(out, "upstream_queue_timeouts_total",
          "Misses answered 503 because no upstream worker was free in time.",
          m.upstream_queue_timeouts);
  counter(out, "upstream_cancelled_total",
          "Upstream downloads cancelled because every client waiting for them left.",
          m.upstream_cancelled);
  counter(out, "upstream_abandoned_kept_total",
          "Upstream downloads every client left, finished for the cache.",
          m.upstream_abandoned_kept);
  counter(out, "client_aborts_total", "Clients that went away while waiting for an answer.",
          m.client_aborts);
  counter(out, "connections_refused_total",
          "Connections closed at once because the connection limit was reached.",
          m.connections_refused);
  counter(out, "slow_clients_cut_total",
          "Connections closed because the client read nothing for the send timeout or less "
          "than the minimum send rate.",
          m.slow_clients_cut);
  counter(out, "tier_hits_total", "Local cache misses answered from the shared cache tier.",
          m.tier_hits);
  counter(out, "tier_misses_total", "Local cache misses the shared cache tier did not hold.",
          m.tier_misses);
  counter(out, "tier_errors_total", "Reads and writes of the shared cache tier that failed.",
          m.tier_errors);
  counter(out, "tier_stored_total", "Blobs copied to the shared cache tier.", m.tier_stored);
  counter(out, "tier_stored_bytes_total", "Bytes copied to the shared cache tier.",
          m.tier_stored_bytes);
  counter(out, "tier_dropped_total",
          "Blobs not copied to the shared cache tier because its queue was full.",
          m.tier_dropped);
  counter(out, "prefetches_queued_total",
          "Files queued to be fetched ahead of clients (usage-driven prefetch).",
          m.prefetch_queued);
  header(out, "prefetches_total", "counter", "Prefetches that ended, by result.");
  sample(out, "prefetches_total", "{result=\"done\"}", m.prefetch_done.load());
  sample(out, "prefetches_total", "{result=\"failed\"}", m.prefetch_failed.load());
  counter(out, "prefetches_refused_total",
          "Files not queued for prefetch: larger than the hourly budget, or the queue full.",
          m.prefetch_refused);
  counter(out, "prefetched_bytes_total", "Bytes of the files prefetched.", m.prefetch_bytes);
  counter(out, "prefetch_hits_total", "Client requests for a file a prefetch fetched.",
          m.prefetch_hits);
  gauge(out, "prefetch_waiting", "Files queued for prefetch, waiting for budget or a slot.",
        m.prefetch_waiting);
  gauge(out, "prefetch_running", "Prefetches in progress.", m.prefetch_running);
  gauge(out, "usage_packages", "Packages clients used within the prefetch window.",
        m.usage_names);
  counter(out, "proxy_requests_total",
          "Absolute-form requests answered for a host on the proxy's allow-list.",
          m.proxy_requests);
  labelled(out, "proxy_refused_total",
           "Proxy requests refused, by reason (host not allowed, scheme, CONNECT, malformed).",
           "reason", kProxyRefusals, m.proxy_refused);
  gauge(out, "upstream_inflight", "Upstream downloads in progress.", m.inflight_downloads);
  gauge(out, "upstream_queued", "Upstream downloads waiting for a free worker.",
        m.upstream_queued);
  gauge(out, "open_connections", "Client connections open.", m.open_connections);
  gauge(out, "cache_size_bytes", "Bytes in the cache directory.", m.cache_bytes);
  gauge(out, "cache_files", "Files in the cache directory.", m.cache_files);
  gauge(out, "cache_limit_bytes", "Cache size limit in bytes (0 = unlimited).",
        m.cache_limit_bytes);
  gauge(out, "known_pool_files",
        "Package files whose digest is known from an index that passed through.",
        m.known_pool_files);
  return out;
}

}  // namespace depot
