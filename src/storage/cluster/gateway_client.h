#pragma once
// GatewayClient: the cluster mirror target's HTTP client of one `depot cluster serve` gateway,
// over libcurl's easy interface (it may not use src/cluster: storage stays below it). Files are
// named relative to a prefix: "debian" + "dists/x" is GET <base>/debian/dists/x.
//
// Errors: a failure of the gateway (unreachable, refused, a bad answer, fewer copies than it
// wants) is kIo, as a disk failure of a local target, with a message naming the URL and the
// cause; transient when retrying can help (transport failures, 5xx, 202). A missing file is
// kNotFound.
//
// Thread-safety: every call may run on any thread at once; easy handles are pooled (kept for
// keep-alive) and each request uses one alone.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"

namespace depot {

struct GatewayEndpoint {
  std::string base;    // "http://host:port", no trailing '/'
  std::string prefix;  // "" or a relative path without leading or trailing '/'
  std::string token;   // bearer token for writes; "" sends none
  std::chrono::milliseconds connect{5000};
  // A transfer with no byte moving for this long fails (transient).
  std::chrono::milliseconds stall{60000};
};

struct GatewayFile {
  uint64_t size = 0;
  std::string sha256;
  uint64_t copies = 0;  // from a listing only; 0 when unknown
};

class GatewayClient {
 public:
  explicit GatewayClient(GatewayEndpoint endpoint);
  ~GatewayClient();
  GatewayClient(const GatewayClient&) = delete;
  GatewayClient& operator=(const GatewayClient&) = delete;

  // The URL of `path` (below the prefix), percent-encoded.
  std::string url(const std::string& path) const;
  // "cluster+http://host:port/prefix", for messages.
  std::string describe() const;

  // GET /_depot/v1/cluster/status: fails when the gateway is unreachable or is no gateway.
  Status check() const;
  // HEAD: nullopt on 404; size and X-Depot-Sha256 otherwise.
  Result<std::optional<GatewayFile>> head(const std::string& path) const;
  // GET into `fd` (from its current offset); the body is checked against the Content-Length
  // and the X-Depot-Sha256 the gateway announced.
  Status get(const std::string& path, int fd) const;
  // PUT of the `size` bytes of `fd` (from offset 0) declaring `sha256`; succeeds only on 201
  // (every copy the cluster wants stored). 202 fails transient naming the copies stored;
  // 401/403 fail naming DEPOT_TOKEN.
  Status put(const std::string& path, int fd, uint64_t size, const std::string& sha256) const;
  // DELETE: ok on 200 and 404.
  Status remove(const std::string& path) const;
  // Pages /_depot/v1/cluster/list and calls `fn` with every path below the prefix (relative
  // to it), ascending.
  Status list(const std::function<Status(const std::string&, const GatewayFile&)>& fn) const;

  struct Pool;

 private:
  GatewayEndpoint ep_;
  std::unique_ptr<Pool> pool_;
};

// Parses "cluster+http://host:port/prefix" (or cluster+https://) into base and prefix.
Result<GatewayEndpoint> parse_cluster_url(const std::string& url);
inline bool is_cluster_url(const std::string& url) {
  return url.rfind("cluster+http://", 0) == 0 || url.rfind("cluster+https://", 0) == 0;
}

}  // namespace depot
