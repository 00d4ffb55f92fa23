#include "serve/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace depot {
namespace {

// Parses the exposition text into sample -> value, checking the grammar line by line.
std::map<std::string, std::string> parse(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[a-z0-9_]+"(,[a-z_]+="[a-z0-9_]+")*\})? (-?[0-9]+))");
  std::map<std::string, std::string> samples;
  std::set<std::string> helped;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, kHelp)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "duplicate HELP: " << line;
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_TRUE(helped.count(m[1])) << "TYPE before HELP: " << line;
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "duplicate TYPE: " << line;
    } else if (std::regex_match(line, m, kSample)) {
      std::string name = m[1];
      EXPECT_TRUE(name.starts_with("depot_serve_")) << line;
      EXPECT_TRUE(types.count(name)) << "sample without TYPE: " << line;
      if (types[name] == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << line;
      } else {
        EXPECT_FALSE(name.ends_with("_total")) << line;
      }
      std::string key = name + m[2].str();
      EXPECT_TRUE(samples.emplace(key, m[4]).second) << "duplicate sample: " << line;
    } else {
      ADD_FAILURE() << "unparsable line: " << line;
    }
  }
  return samples;
}

TEST(Metrics, RendersEveryMetricAtZero) {
  ServeMetrics m;
  auto s = parse(render_prometheus(m));
  for (const char* key : {"depot_serve_requests_total{code=\"1xx\"}",
                          "depot_serve_requests_total{code=\"5xx\"}",
                          "depot_serve_cache_requests_total{outcome=\"none\"}",
                          "depot_serve_cache_requests_total{outcome=\"mirror\"}",
                          "depot_serve_cache_requests_total{outcome=\"hit\"}",
                          "depot_serve_cache_requests_total{outcome=\"revalidated\"}",
                          "depot_serve_cache_requests_total{outcome=\"miss\"}",
                          "depot_serve_cache_requests_total{outcome=\"coalesced\"}",
                          "depot_serve_cache_requests_total{outcome=\"stale\"}",
                          "depot_serve_sent_bytes_total",
                          "depot_serve_upstream_requests_total",
                          "depot_serve_upstream_errors_total",
                          "depot_serve_upstream_received_bytes_total",
                          "depot_serve_revalidations_total",
                          "depot_serve_negative_cache_hits_total",
                          "depot_serve_evictions_total",
                          "depot_serve_upstream_queue_timeouts_total",
                          "depot_serve_upstream_cancelled_total",
                          "depot_serve_upstream_abandoned_kept_total",
                          "depot_serve_client_aborts_total",
                          "depot_serve_connections_refused_total",
                          "depot_serve_slow_clients_cut_total",
                          "depot_serve_tier_hits_total",
                          "depot_serve_tier_misses_total",
                          "depot_serve_tier_errors_total",
                          "depot_serve_tier_stored_total",
                          "depot_serve_tier_stored_bytes_total",
                          "depot_serve_tier_dropped_total",
                          "depot_serve_prefetches_queued_total",
                          "depot_serve_prefetches_total{result=\"done\"}",
                          "depot_serve_prefetches_total{result=\"failed\"}",
                          "depot_serve_prefetches_refused_total",
                          "depot_serve_prefetched_bytes_total",
                          "depot_serve_prefetch_hits_total",
                          "depot_serve_prefetch_waiting",
                          "depot_serve_prefetch_running",
                          "depot_serve_usage_packages",
                          "depot_serve_proxy_requests_total",
                          "depot_serve_proxy_refused_total{reason=\"host\"}",
                          "depot_serve_proxy_refused_total{reason=\"scheme\"}",
                          "depot_serve_proxy_refused_total{reason=\"connect\"}",
                          "depot_serve_proxy_refused_total{reason=\"malformed\"}",
                          "depot_serve_upstream_inflight",
                          "depot_serve_upstream_queued",
                          "depot_serve_open_connections",
                          "depot_serve_cache_size_bytes",
                          "depot_serve_cache_files",
                          "depot_serve_cache_limit_bytes",
                          "depot_serve_known_pool_files"}) {
    ASSERT_TRUE(s.count(key)) << key;
    EXPECT_EQ(s[key], "0") << key;
  }
  EXPECT_EQ(s.size(), 5u + 7u + 19u + 5u + 7u + 9u);
}

TEST(Metrics, ReflectsUpdates) {
  ServeMetrics m;
  m.requests_by_class[2] += 12;
  m.requests_by_class[4] += 3;
  m.outcomes[static_cast<int>(CacheOutcome::kHit)] += 7;
  m.outcomes[static_cast<int>(CacheOutcome::kCoalesced)] += 2;
  m.bytes_sent += 18446744073709551615ull;
  m.upstream_errors += 1;
  m.inflight_downloads = 3;
  m.open_connections = -1;  // a gauge may dip during a race; render it faithfully
  m.cache_bytes = 4096;
  m.cache_limit_bytes = int64_t{200} << 30;
  auto s = parse(render_prometheus(m));
  EXPECT_EQ(s["depot_serve_requests_total{code=\"2xx\"}"], "12");
  EXPECT_EQ(s["depot_serve_requests_total{code=\"4xx\"}"], "3");
  EXPECT_EQ(s["depot_serve_cache_requests_total{outcome=\"hit\"}"], "7");
  EXPECT_EQ(s["depot_serve_cache_requests_total{outcome=\"coalesced\"}"], "2");
  EXPECT_EQ(s["depot_serve_sent_bytes_total"], "18446744073709551615");
  EXPECT_EQ(s["depot_serve_upstream_errors_total"], "1");
  EXPECT_EQ(s["depot_serve_upstream_inflight"], "3");
  EXPECT_EQ(s["depot_serve_open_connections"], "-1");
  EXPECT_EQ(s["depot_serve_cache_size_bytes"], "4096");
  EXPECT_EQ(s["depot_serve_cache_limit_bytes"], "214748364800");
}

TEST(Metrics, OutcomeNames) {
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kNone), "-");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kMirror), "MIRROR");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kHit), "HIT");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kRevalidated), "REVALIDATED");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kMiss), "MISS");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kCoalesced), "COALESCED");
  EXPECT_STREQ(cache_outcome_name(CacheOutcome::kStale), "STALE");
}

}  // namespace
}  // namespace depot
