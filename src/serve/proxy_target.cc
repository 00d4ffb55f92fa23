#include "serve/proxy_target.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "core/rel_path.h"
#include "core/text.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

constexpr size_t kMaxHost = 253;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool v6_char(char c) { return hex_digit_value(c) >= 0 || c == ':' || c == '.'; }

Error bad_host(std::string_view text, const char* why) {
  return make_error(ErrorCode::kInvalidArgument, "host " + quote_untrusted(text) + ": " + why);
}

TargetRoute refuse(int status, const char* reason, std::string message) {
  TargetRoute r;
  r.kind = TargetRoute::Kind::kRefused;
  r.status = status;
  r.reason = reason;
  r.message = std::move(message);
  return r;
}

TargetRoute pass(TargetRoute::Kind kind, std::string target) {
  TargetRoute r;
  r.kind = kind;
  r.target = std::move(target);
  return r;
}

}  // namespace

Result<ProxyHost> parse_proxy_host(std::string_view text) {
  if (text.empty() || text.size() > kMaxHost + 8) return bad_host(text, "empty or too long");
  std::string lower = ascii_lower(text);
  std::string_view rest = lower;
  ProxyHost h;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 3) return bad_host(text, "bad IPv6 literal");
    std::string_view inner = rest.substr(1, close - 1);
    if (!std::all_of(inner.begin(), inner.end(), v6_char) ||
        inner.find(':') == std::string_view::npos) {
      return bad_host(text, "bad IPv6 literal (zone ids are not accepted)");
    }
    h.host = std::string(rest.substr(0, close + 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad_host(text, "text after the IPv6 literal");
  } else {
    size_t colon = rest.find(':');
    h.host = std::string(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
    if (h.host.empty() || h.host.size() > kMaxHost ||
        !std::all_of(h.host.begin(), h.host.end(), name_char)) {
      return bad_host(text, "a host name may hold only letters, digits, '.', '-' and '_'");
    }
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // ':'
    if (!rest.empty()) {
      auto port = rest.size() <= 5 ? parse_u64(rest) : std::nullopt;
      if (!port || *port == 0 || *port > 65535) return bad_host(text, "bad port");
      h.port = static_cast<uint16_t>(*port);
    }
  }
  h.authority = h.port == 80 ? h.host : h.host + ":" + std::to_string(h.port);
  return h;
}

Result<std::vector<ProxyHost>> parse_proxy_allow(std::string_view list) {
  std::vector<ProxyHost> out;
  while (true) {
    size_t comma = list.find(',');
    std::string_view entry = trim(list.substr(0, comma));
    auto h = parse_proxy_host(entry);
    if (!h.ok()) return h.error();
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const ProxyHost& o) { return o.authority == h->authority; });
    if (!seen) out.push_back(std::move(*h));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::vector<ProxyHost>> parse_proxy_allow(const std::vector<std::string>& lists) {
  std::vector<ProxyHost> out;
  for (const std::string& list : lists) {
    DEPOT_ASSIGN_OR_RETURN(std::vector<ProxyHost> hosts, parse_proxy_allow(list));
    out.insert(out.end(), hosts.begin(), hosts.end());
  }
  return out;
}

std::string proxy_prefix_conflict(const std::vector<UpstreamConfig>& upstreams) {
  for (const UpstreamConfig& u : upstreams) {
    std::string_view p = u.prefix;
    if (p == kProxyPrefix || (p.starts_with(kProxyPrefix) && p[kProxyPrefix.size()] == '/')) {
      return "upstream prefix '" + u.prefix + "': /" + std::string(kProxyPrefix) +
             "/ is where the proxy keeps its hosts";
    }
  }
  return "";
}

TargetRoute route_request_target(std::string_view target, std::string_view host_header,
                                 const ProxyOptions& proxy, const std::vector<std::string>& self) {
  if (!target.empty() && target.front() == '/')
    return pass(TargetRoute::Kind::kOrigin, std::string(target));
  size_t sep = target.find("://");
  std::string scheme = ascii_lower(target.substr(0, sep));
  if (sep == std::string_view::npos || scheme.empty()) {
    return refuse(
        400, "malformed",
        "request target " + quote_untrusted(target) + ": neither a path nor an http:// URL");
  }
  std::string_view rest = target.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string path(end == std::string_view::npos ? std::string_view() : rest.substr(end));
  if (path.empty() || path.front() != '/') path.insert(0, "/");
  if (scheme != "http") {
    return refuse(403, "scheme",
                  quote_untrusted(target.substr(0, sep + 3 + authority.size())) +
                      ": only http:// URLs are proxied (reach " + scheme + ":// hosts directly)");
  }
  if (authority.find('@') != std::string_view::npos) {
    return refuse(
        400, "malformed",
        "request target " + quote_untrusted(target) + ": user information in the URL is refused");
  }
  auto h = parse_proxy_host(authority);
  if (!h.ok()) return refuse(400, "malformed", "request target: " + h.error().message);
  if (std::find(self.begin(), self.end(), h->authority) != self.end()) {
    return pass(TargetRoute::Kind::kOrigin, std::move(path));
  }
  if (!proxy.enabled) {
    return refuse(403, "host",
                  "host " + h->authority + " is not served here (this server is no proxy)");
  }
  auto listed = std::find_if(proxy.allow.begin(), proxy.allow.end(),
                             [&](const ProxyHost& a) { return a.authority == h->authority; });
  if (listed == proxy.allow.end()) {
    return refuse(403, "host", "host " + h->authority + " is not on this proxy's allow-list");
  }
  if (!host_header.empty()) {
    auto named = parse_proxy_host(host_header);
    if (!named.ok() || named->authority != h->authority) {
      return refuse(400, "malformed",
                    "Host header " + quote_untrusted(host_header) +
                        " disagrees with the request target's host " + h->authority);
    }
  }
  TargetRoute r = pass(TargetRoute::Kind::kProxied, "/" + listed->prefix() + path);
  r.host = &*listed;
  return r;
}

std::vector<std::string> self_authorities(std::string_view local_address, uint16_t port,
                                          std::string_view public_url) {
  std::vector<std::string> out;
  auto add = [&](std::string_view host, uint16_t p) {
    auto h = parse_proxy_host(std::string(host) + ":" + std::to_string(p));
    if (h.ok() && std::find(out.begin(), out.end(), h->authority) == out.end()) {
      out.push_back(h->authority);
    }
  };
  std::string addr(local_address);
  if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
  add(addr, port);
  add("localhost", port);
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) == 0) add(name, port);
  if (public_url.starts_with("http://")) {
    std::string key = host_key(public_url);  // "http://host:port", userinfo and path left out
    if (auto h = parse_proxy_host(std::string_view(key).substr(7)); h.ok()) add(h->host, h->port);
  }
  return out;
}

std::optional<int64_t> client_max_age(std::string_view cache_control, std::string_view pragma) {
  std::optional<int64_t> age;
  std::string_view cc = cache_control;
  while (!cc.empty()) {
    size_t comma = cc.find(',');
    std::string directive = ascii_lower(trim(cc.substr(0, comma)));
    cc = comma == std::string_view::npos ? std::string_view() : cc.substr(comma + 1);
    if (directive == "no-cache") {
      age = 0;
    } else if (directive.starts_with("max-age=")) {
      auto n = parse_u64(trim(std::string_view(directive).substr(8), " \t\""));
      if (n)
        age = std::min<int64_t>(age.value_or(INT64_MAX),
                                static_cast<int64_t>(std::min<uint64_t>(*n, INT64_MAX)));
    }
  }
  if (!age && trim(cache_control).empty() && iequals(trim(pragma), "no-cache")) age = 0;
  return age;
}

}  // namespace depot
