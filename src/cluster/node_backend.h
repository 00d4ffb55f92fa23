#pragma once
// NodeBackend: what the gateway needs of one place that holds copies — a depot storage node or
// another gateway (NodeClient, over HTTP), or an S3 bucket (S3Node). Errors name the node and
// the path or URL. Implementations are thread-safe: the gateway calls them from many threads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "serve/node_store.h"  // NodeStatus, NodeFile, ChangePage

namespace depot::cluster {

struct NodeEndpoint {
  std::string name;   // the node's name in the cluster
  std::string url;    // base URL, "http://host:port" (no trailing '/')
  std::string token;  // bearer token; "" sends none
};

struct NodeTimeouts {
  std::chrono::milliseconds connect{3000};
  // A transfer with no byte moving for this long fails (kNetwork, transient).
  std::chrono::milliseconds stall{15000};
  // API calls without a streamed body (status, inventory, HEAD, DELETE) fail after this.
  std::chrono::milliseconds request{15000};
};

// What a node answered to a PUT or DELETE that did not succeed, or a transport failure
// (status 0). `message` is the node's one-line text or curl's error, naming node and path.
struct NodeFailure {
  int status = 0;
  std::string message;
};

// Pulls the body of a PUT: fills up to `n` bytes, returns how many; 0 at the end of the body;
// -1 aborts the upload (the node drops it).
using BodyReader = std::function<long(char* buf, size_t n)>;
// Takes body bytes of a GET as they arrive; false aborts the transfer.
using BodyWriter = std::function<bool(const char* data, size_t n)>;

// Where a read's body may go without passing through user space: a connected, blocking socket
// (its send timeout set) that the kernel may move bytes to (splice). The backend sends the first
// body bytes through the read's BodyWriter, then calls `flush` (which writes what the writer
// gathered, the caller's header first) before moving any byte to `fd`. One read at a time.
struct SpliceOut {
  int fd = -1;
  std::function<bool()> flush;  // false: the client left
  uint64_t moved = 0;           // grown by the backend: bytes moved to fd
  bool client_left = false;     // set by the backend: flush failed or fd took no more bytes
};

// A put's outcome: the stored file, or why not (status 0: no answer at all).
struct NodePutResult {
  std::optional<NodeFile> stored;
  NodeFailure failure;  // when !stored
};

class NodeBackend {
 public:
  virtual ~NodeBackend() = default;

  virtual const NodeEndpoint& endpoint() const = 0;
  // Capacity, use and files (a health check: an error means the node did not answer).
  virtual Result<NodeStatus> status(std::string_view via = {}) const = 0;
  // The changes after `since` (see ChangePage: `last` below `since` means the inventory was
  // recreated and must be read again from 0).
  virtual Result<ChangePage> inventory(int64_t since, size_t limit) const = 0;
  // nullopt when the node lacks `path`; its size and sha256 otherwise.
  virtual Result<std::optional<NodeFile>> head(std::string_view path,
                                               std::string_view via = {}) const = 0;
  // true when removed, false when the node lacked it.
  virtual Result<bool> remove(std::string_view path, std::string_view via = {}) const = 0;
  // Stores `size` bytes pulled from `body`, committed only when their sha256 is `sha256`.
  // A refusal that took no body byte (no room: 507) lets the caller try another node.
  virtual NodePutResult put(std::string_view path, uint64_t size, std::string_view sha256,
                            const BodyReader& body, std::string_view via = {}) const = 0;
  // Bytes [offset, end) of `path` into `sink`; `on_start` gets the file's full size before the
  // first byte. kNotFound when absent. Returns the bytes delivered.
  virtual Result<uint64_t> get(std::string_view path, uint64_t offset,
                               std::optional<uint64_t> end,
                               const std::function<void(uint64_t file_size, long status)>& on_start,
                               const BodyWriter& sink, std::string_view via = {}) const = 0;
  // As get, but bytes after the first ones may be moved to `out.fd` by the kernel instead of
  // passing through `sink` (counted in out.moved, not in the result). The default moves none.
  virtual Result<uint64_t> get_to(std::string_view path, uint64_t offset,
                                  std::optional<uint64_t> end,
                                  const std::function<void(uint64_t, long)>& on_start,
                                  const BodyWriter& sink, SpliceOut& out,
                                  std::string_view via = {}) const {
    (void)out;
    return get(path, offset, end, on_start, sink, via);
  }
  // A URL a client may fetch the file from directly (redirect mode); "" when there is none.
  virtual std::string file_url(std::string_view path) const = 0;
};

}  // namespace depot::cluster
