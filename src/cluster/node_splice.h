#pragma once
// spliced_get: a GET of a file from a depot node (or a gateway) over plain HTTP whose body the
// kernel moves from the node's socket to the client's socket through a pipe (splice(2)), so that
// past its first bytes the body never enters user space. A connection whose answer was read to
// its end is kept for the next call to the same host and port (a process-wide pool, at most 32
// idle per node); one the node closed meanwhile is replaced once. Linux; http:// URLs only.
// Thread-safe. The
// process must ignore SIGPIPE: splice(2) to a socket the client closed raises it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/node_backend.h"
#include "core/result.h"

namespace depot::cluster {

// Bytes [offset, end) of the file at `url` (end nullopt: to the end; no Range header is sent
// for a whole file, so the node can use sendfile). `on_start` gets the file's full size and the
// status (200 or 206) before the first byte; the first body bytes (up to 64 KiB) go to `sink`,
// then out.flush() runs and the rest is moved to out.fd, counted in out.moved. Errors name the
// node and the URL: kNotFound on 404, kHttp for another status or a wrong Content-Range,
// kUnreachable when no connection was made, kNetwork (transient) when the body broke off or
// stalled for `timeouts.stall`, or when the client left (out.client_left set). Returns the
// bytes that went through `sink`.
Result<uint64_t> spliced_get(const NodeEndpoint& ep, const NodeTimeouts& timeouts,
                             const std::string& url, uint64_t offset,
                             std::optional<uint64_t> end,
                             const std::function<void(uint64_t file_size, long status)>& on_start,
                             const BodyWriter& sink, SpliceOut& out, std::string_view via);

}  // namespace depot::cluster
