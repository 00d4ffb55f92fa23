#pragma once
// NodeClient: the gateway's HTTP client of one storage node (a `depot serve --node` or another
// gateway), over libcurl's easy interface: the node API under /_depot/v1/ and plain GETs of
// files (with Range). Every request sends `Authorization: Bearer <token>` when a token is set,
// and `X-Depot-Via: <via>` when via is set (the gateways a request passed, for loop detection).
// Errors name the node, the URL and the cause; an answer the node gave is kept in
// NodeError-style messages ("node n2: PUT a/b: 507 node full"). Thread-safe: calls share no
// state but the immutable endpoint, each uses its own curl handle (reused per thread).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "cluster/node_backend.h"

namespace depot::cluster {

class NodeClient : public NodeBackend {
 public:
  NodeClient(NodeEndpoint endpoint, NodeTimeouts timeouts = {});

  const NodeEndpoint& endpoint() const override { return ep_; }

  // GET /_depot/v1/status.
  Result<NodeStatus> status(std::string_view via = {}) const override;
  // GET /_depot/v1/inventory?since=SINCE&limit=LIMIT.
  Result<ChangePage> inventory(int64_t since, size_t limit) const override;
  // HEAD /_depot/v1/files/<path>: nullopt on 404; size, sha256 and seq otherwise.
  Result<std::optional<NodeFile>> head(std::string_view path,
                                       std::string_view via = {}) const override;
  // DELETE /_depot/v1/files/<path>: true when deleted, false on 404 (the node lacked it).
  Result<bool> remove(std::string_view path, std::string_view via = {}) const override;

  // PUT /_depot/v1/files/<path> with Content-Length `size` and X-Depot-Sha256 `sha256`, the
  // body pulled from `body` (Expect: 100-continue, so a refusal costs no body bytes). The
  // node's answer: 201 gives the stored file; anything else a NodeFailure with its status.
  using PutResult = NodePutResult;
  PutResult put(std::string_view path, uint64_t size, std::string_view sha256,
                const BodyReader& body, std::string_view via = {}) const override;

  // GET /<path> of the file, bytes [offset, end) (end nullopt: to the end), into `sink`.
  // `on_start` is called once before the first byte with the file's full size (from
  // Content-Length or Content-Range) and the status (200 or 206). A 404 is kNotFound; another
  // non-2xx, a 206 for the wrong range, or a body shorter than announced fails (kNetwork for a
  // broken transfer, kSizeMismatch for a wrong size). Returns the bytes delivered.
  Result<uint64_t> get(std::string_view path, uint64_t offset, std::optional<uint64_t> end,
                       const std::function<void(uint64_t file_size, long status)>& on_start,
                       const BodyWriter& sink, std::string_view via = {}) const override;

  // GET of an API route ("/_depot/v1/...", query included): the body of a 200 answer.
  // As get; for an http:// node, the bytes after the first ones are spliced from a connection
  // of their own to out.fd (node_splice.h). https:// nodes send everything through `sink`.
  Result<uint64_t> get_to(std::string_view path, uint64_t offset, std::optional<uint64_t> end,
                          const std::function<void(uint64_t file_size, long status)>& on_start,
                          const BodyWriter& sink, SpliceOut& out,
                          std::string_view via = {}) const override;

  Result<std::string> api_get(std::string_view route) const;
  // Any request to an API route with an optional JSON body, waiting up to `wait` for the
  // answer (an administrative pass may take long): the status and body of whatever answered.
  struct ApiAnswer {
    long status = 0;
    std::string body;
  };
  Result<ApiAnswer> api_request(std::string_view method, std::string_view route,
                                std::string_view json_body, std::chrono::milliseconds wait) const;

  // The URL of a file on this node, as a client would fetch it (for redirect mode).
  std::string file_url(std::string_view path) const override;

 private:
  NodeEndpoint ep_;
  NodeTimeouts timeouts_;
};

}  // namespace depot::cluster
