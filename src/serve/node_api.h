#pragma once
// NodeApi: the HTTP mapping of a storage node's API under /_depot/v1/ (docs/architecture.md,
// "Storage node"), between the session (which parses HTTP and streams bodies) and NodeStore:
//   PUT    /_depot/v1/files/<path>  body with Content-Length and X-Depot-Sha256 -> 201
//   DELETE /_depot/v1/files/<path>  -> 200 / 404
//   HEAD   /_depot/v1/files/<path>  -> 200 with Content-Length and X-Depot-Sha256 / 404
//   GET    /_depot/v1/inventory?since=SEQ[&limit=N]  -> the changes after SEQ, as JSON
//   GET    /_depot/v1/status  -> name, capacity, used, free, inflight_bytes, files, as JSON
// Writes need a `full` token; reads need `read` when an auth table is given, and nothing
// otherwise; without an auth table every write is refused (the API is read-only). Answers that
// are not JSON are one line of plain text saying what was wrong. No Boost here: the session
// hands requests over as NodeRequest. Thread-safe (NodeStore is; the rest is immutable).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/logger.h"
#include "serve/auth_file.h"
#include "serve/node_store.h"

namespace depot {

// The parts of a request the node API looks at.
struct NodeRequest {
  std::string_view method;         // "PUT", "GET", ...
  std::string_view target;         // raw origin-form target, "/_depot/v1/..."
  std::string_view authorization;  // the Authorization header; "" when absent
  std::string_view sha256;         // X-Depot-Sha256; "" when absent
  std::optional<uint64_t> content_length;  // nullopt when absent
};

struct NodeReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Content-Length when it is not the body's size: a HEAD of a file gives the file's size.
  std::optional<uint64_t> content_length;
};

class NodeApi {
 public:
  // `auth` null: no auth file, the API is read-only. Everything passed outlives the API.
  NodeApi(NodeStore& store, std::string name, const AuthTable* auth, Logger& logger);

  // True for every target under /_depot/ (the API's; a served tree's /_depot/ is shadowed).
  static bool handles(std::string_view target);
  // True for a PUT of a file: its body is streamed through begin_put / finish_put.
  static bool is_upload(std::string_view method, std::string_view target);

  // Any request under /_depot/ but an upload.
  NodeReply handle(const NodeRequest& request);

  // Checks an upload (token, path, Content-Length, X-Depot-Sha256, room) and reserves its
  // space. `upload` is null when it is refused: `reply` says why (401, 403, 400, 411, 507).
  struct PutStart {
    std::unique_ptr<NodeUpload> upload;
    NodeReply reply;
  };
  PutStart begin_put(const NodeRequest& request);
  // The whole body was written into `upload`: commits it (201, 409 on a digest mismatch, ...).
  NodeReply finish_put(std::unique_ptr<NodeUpload> upload);
  // Writing the body failed (NodeUpload::write's error): 507 when the disk is full, 400 for a
  // body longer than declared, 500 otherwise.
  NodeReply upload_failed(const Error& error);

 private:
  // nullopt when `request` may act with `need`; else the 401 or 403.
  std::optional<NodeReply> authorize(const NodeRequest& request, Role need) const;
  NodeReply file_request(const NodeRequest& request, const RelPath& path);
  NodeReply inventory(std::string_view query);
  NodeReply status();
  NodeReply from_error(const Error& e, std::string_view what);

  NodeStore& store_;
  std::string name_;
  const AuthTable* auth_;
  Logger& log_;
};

// The file path of a /_depot/v1/files/<path> target: percent-decoded and checked like any
// request path (request_path.h), and further refused (kUnsafePath, the caller answers 400): an
// empty path, a leading, doubled or trailing '/', a query, any ".depot*" component, a first
// component "_depot" (the API's prefix: such a file could never be served by plain GET).
Result<RelPath> node_file_path(std::string_view target);
// The same checks on a file path as a URL carries it after its first '/' (percent-encoded,
// "pool/a%2Bb.deb"): what a gateway gets in a plain GET or a ?path= query.
Result<RelPath> url_file_path(std::string_view raw);

}  // namespace depot
