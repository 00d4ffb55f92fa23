#pragma once
// What `depot serve` does with a request's target and headers, shared by the serve fuzz
// targets, with oracles: an accepted target names a safe relative path, and escaping it for a
// URL and parsing that again gives it back; a satisfiable range lies inside the file; a parsed
// HTTP date formats and parses back to itself.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "serve/http_semantics.h"
#include "serve/page_rewrite.h"
#include "serve/pool_index.h"
#include "serve/proxy_target.h"
#include "serve/request_path.h"
#include "serve/root_index.h"

namespace depot::fuzz {

// The forward proxy: a proxied target decodes to a path under its allow-listed host's prefix.
inline void check_proxy_route(std::string_view target) {
  static const ProxyOptions proxy = [] {
    ProxyOptions o;
    o.enabled = true;
    o.allow = *parse_proxy_allow("deb.example.org,127.0.0.1:8080,[::1]:8080");
    return o;
  }();
  static const std::vector<std::string> self = {"127.0.0.1:3142"};
  TargetRoute r = route_request_target(target, "", proxy, self);
  if (r.kind != TargetRoute::Kind::kProxied) return;
  check(r.host != nullptr, "proxy_target: proxied without a host");
  auto path = parse_request_target(r.target);
  if (!path.ok()) return;
  const std::string prefix = r.host->prefix();
  check(path->rel == prefix || path->rel.starts_with(prefix + "/"),
        "proxy_target: a proxied path left its host's prefix");
}

inline void check_target(std::string_view target) {
  check_proxy_route(target);
  auto path = parse_request_target(target);
  if (!path.ok()) return;
  const std::string& rel = path->rel;
  check(rel.empty() || RelPath::parse(rel).ok(), "request_path: accepted an unsafe path");
  auto again = parse_request_target("/" + escape_path_for_url(rel));
  check(again.ok() && again->rel == rel, "request_path: escaped path does not parse back");
  (void)candidate_roots(rel);
  (void)by_hash_expectation(rel);
  (void)PoolIndex::registry_of(rel);
  (void)content_type_for(rel);
}

inline void check_date(std::string_view text) {
  auto t = parse_http_date(text);
  if (!t) return;
  auto again = parse_http_date(format_http_date(*t));
  check(again && *again == *t, "http_semantics: a parsed date does not format and parse back");
}

struct HeaderValues {
  std::string_view range, if_range, if_match, if_none_match, if_modified_since, if_unmodified_since,
      accept;
};

inline void check_headers(const HeaderValues& h) {
  static constexpr uint64_t kSizes[] = {0, 1, 1000, std::numeric_limits<uint64_t>::max()};
  const Validators validators[] = {{"\"5f-1a\"", 784111777}, {"W/\"5f-1a\"", 0}, {"", 1}};
  for (const Validators& v : validators) {
    for (uint64_t size : kSizes) {
      RangeDecision d = evaluate_range(h.range, h.if_range, size, v);
      if (d.kind == RangeKind::kSatisfiable) {
        check(d.range.first <= d.range.last && d.range.last < size,
              "http_semantics: satisfiable range outside the file");
        (void)content_range(d.range, size);
      }
    }
    ConditionalHeaders c{h.if_match, h.if_none_match, h.if_modified_since, h.if_unmodified_since};
    (void)evaluate_preconditions(c, v, true);
    (void)evaluate_preconditions(c, v, false);
  }
  check_date(h.if_modified_since);
  check_date(h.if_unmodified_since);
  check_date(h.if_range);
  (void)directory_pages(h.accept);
}

}  // namespace depot::fuzz
