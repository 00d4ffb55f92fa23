#pragma once
// The caching forward proxy of `depot serve --proxy`: which request targets name an
// allow-listed host (absolute-form "http://host[:port]/path", RFC 9112 §3.2.2) and the cache
// prefix each host is kept under ("_proxy/<authority>"), which name this server itself, and
// which are refused. Also the client's Cache-Control as a maximum age. Pure; thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "serve/page_rewrite.h"

namespace depot {

inline constexpr std::string_view kProxyPrefix = "_proxy";

// One host[:port]. Host names are ASCII lower case of [a-z0-9._-]; an IPv6 literal keeps its
// brackets ("[::1]"). Alternative spellings of one address (127.1, [0::1], trailing dots) are
// different hosts: matching is by text only, so no spelling reaches an unlisted address.
struct ProxyHost {
  std::string host;
  uint16_t port = 80;
  std::string authority;  // host, with ":port" unless 80

  std::string prefix() const { return std::string(kProxyPrefix) + "/" + authority; }
  std::string url() const { return "http://" + authority; }
};

// "host", "host:port", "[v6]", "[v6]:port" (an empty port is 80). kInvalidArgument otherwise:
// userinfo, percent escapes, zone ids, a scheme, anything but the characters above.
Result<ProxyHost> parse_proxy_host(std::string_view text);
// A comma-separated list of hosts (blanks around entries ignored; empty entries refused).
Result<std::vector<ProxyHost>> parse_proxy_allow(std::string_view list);
// Every host of several such lists (repeated flags, a TOML array), in order.
Result<std::vector<ProxyHost>> parse_proxy_allow(const std::vector<std::string>& lists);

struct ProxyOptions {
  bool enabled = false;
  std::vector<ProxyHost> allow;
  // A client's Cache-Control: max-age=0 / no-cache makes a root or unnamed index revalidate
  // once it was validated this long ago, not sooner: a storm of `apt-get update`s costs one
  // conditional request upstream per file per this period.
  std::chrono::seconds revalidate_after{30};
};

// "" when no upstream prefix is "_proxy" or below it (the proxy's hosts are kept there), else
// what is wrong.
std::string proxy_prefix_conflict(const std::vector<UpstreamConfig>& upstreams);

struct TargetRoute {
  enum class Kind { kOrigin, kProxied, kRefused };
  Kind kind = Kind::kRefused;
  // kOrigin and kProxied: the origin-form target to decode ("/path?query"); for kProxied it is
  // "/_proxy/<authority>/path?query", still percent-encoded.
  std::string target;
  const ProxyHost* host = nullptr;  // kProxied: the allow-list entry (points into `proxy`)
  int status = 0;                   // kRefused: 400 malformed, 403 not allowed
  std::string message;              // kRefused: names the host or the defect
  const char* reason = "";          // kRefused: "host", "scheme" or "malformed"
};

// Routes a request target. Origin-form passes unchanged. Absolute-form naming one of `self`
// (authorities of this server, from self_authorities) is served as its path; naming an
// allow-listed host (proxy enabled) is proxied, provided a Host header, when present, names
// the same authority; anything else is refused: https:// and other schemes, userinfo, hosts
// not listed (403 naming the host), and on a server without the proxy every foreign host.
TargetRoute route_request_target(std::string_view target, std::string_view host_header,
                                 const ProxyOptions& proxy, const std::vector<std::string>& self);

// The authorities naming this server, normalised like ProxyHost::authority: the listening
// address and port, localhost, the machine's host name, and --public-url's host when it is
// http://.
std::vector<std::string> self_authorities(std::string_view local_address, uint16_t port,
                                          std::string_view public_url);

// The age a client accepts, in seconds, from its Cache-Control (max-age=N, no-cache: 0) or, when
// it sends none, Pragma: no-cache (0); nullopt when it states none.
std::optional<int64_t> client_max_age(std::string_view cache_control, std::string_view pragma);

}  // namespace depot
