#include "cluster/node_splice.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <utility>

// Asio 1.74 needs <utility> before it (std::exchange).
#include <boost/beast/http.hpp>

#include "core/text.h"
#include "core/unique_fd.h"
#include "serve/http_semantics.h"

namespace depot::cluster {
namespace {

namespace http = boost::beast::http;

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kFirstRead = 64 * 1024;  // the most body bytes that pass through the sink
constexpr int kPipeSize = 1 << 20;        // fewer, larger splices (the pipe's default is 64 KiB)

// Idle keep-alive connections to nodes by "host:port", reused by the next spliced read (a
// connection per read costs more than copying a 256 KiB body). Thread-safe.
class IdlePool {
 public:
  UniqueFd take(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) return UniqueFd();
    UniqueFd fd(it->second.back());
    it->second.pop_back();
    return fd;
  }
  void give(const std::string& key, UniqueFd fd) {
    std::lock_guard lock(mu_);
    auto& list = idle_[key];
    if (list.size() < kMaxIdlePerNode) list.push_back(fd.release());
  }

 private:
  static constexpr size_t kMaxIdlePerNode = 32;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<int>> idle_;  // never closed: the process keeps them
};

IdlePool& idle_pool() {
  static IdlePool* pool = new IdlePool();  // leaked: outlives threads still reading at exit
  return *pool;
}

// One call's node, URL and timeouts, and how its errors read: "node N: GET URL: CAUSE".
struct Call {
  const NodeEndpoint& ep;
  const NodeTimeouts& t;
  const std::string& url;

  Error fail(ErrorCode code, std::string_view cause, bool transient = false) const {
    return make_error(code, "node " + ep.name + ": GET " + url + ": " + std::string(cause),
                      transient);
  }
  Error os_fail(ErrorCode code, std::string_view what) const {
    return fail(code, std::string(what) + ": " + std::strerror(errno), true);
  }
};

struct UrlParts {
  std::string host, port, target;  // target: path and query, as sent
};

Result<UrlParts> split_url(const Call& c) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, c.url.c_str(), CURLU_PATH_AS_IS) != CURLUE_OK) {
    return c.fail(ErrorCode::kInvalidArgument, "not a URL");
  }
  auto part = [&](CURLUPart which, unsigned flags = 0) -> std::optional<std::string> {
    char* v = nullptr;
    if (curl_url_get(u.get(), which, &v, flags) != CURLUE_OK) return std::nullopt;
    std::string s(v);
    curl_free(v);
    return s;
  };
  auto scheme = part(CURLUPART_SCHEME);
  if (!scheme || *scheme != "http") return c.fail(ErrorCode::kInvalidArgument, "not http://");
  UrlParts p;
  p.host = part(CURLUPART_HOST).value_or("");
  if (p.host.size() > 2 && p.host.front() == '[') p.host = p.host.substr(1, p.host.size() - 2);
  p.port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("80");
  p.target = part(CURLUPART_PATH).value_or("/");
  if (auto q = part(CURLUPART_QUERY)) p.target += "?" + *q;
  return p;
}

void set_timeout(int fd, int opt, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

// A blocking socket connected to one of host's addresses within the connect timeout, with the
// stall timeout on receives and the request timeout on sends.
Result<UniqueFd> connect_to(const Call& c, const UrlParts& p) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(p.host.c_str(), p.port.c_str(), &hints, &found); rc != 0) {
    return c.fail(ErrorCode::kUnreachable, std::string("resolve: ") + ::gai_strerror(rc), true);
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) continue;
    int err = ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd pf{fd.get(), POLLOUT, 0};
      const int ready = ::poll(&pf, 1, static_cast<int>(c.t.connect.count()));
      socklen_t len = sizeof err;
      if (ready <= 0) err = ready == 0 ? ETIMEDOUT : errno;
      else ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err != 0) {
      why = std::strerror(err);
      continue;
    }
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeout(fd.get(), SO_RCVTIMEO, c.t.stall);
    set_timeout(fd.get(), SO_SNDTIMEO, c.t.request);
    return fd;
  }
  return c.fail(ErrorCode::kUnreachable, "connect: " + why, true);
}

std::string request_of(const NodeEndpoint& ep, const UrlParts& p, uint64_t offset,
                       std::optional<uint64_t> end, std::string_view via) {
  std::string r = "GET " + p.target + " HTTP/1.1\r\nHost: " + p.host + ":" + p.port +
                  "\r\nUser-Agent: depot-gateway\r\n";
  if (offset > 0 || end) {
    r += "Range: bytes=" + std::to_string(offset) + "-" + (end ? std::to_string(*end - 1) : "") +
         "\r\n";
  }
  if (!ep.token.empty()) r += "Authorization: Bearer " + ep.token + "\r\n";
  if (!via.empty()) r += "X-Depot-Via: " + std::string(via) + "\r\n";
  return r + "\r\n";
}

Status send_all(const Call& c, int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return c.os_fail(ErrorCode::kNetwork, "send");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// The response header read into `parser`; what follows it in `buf` from `*used` on is body.
Status read_header(const Call& c, int fd, http::response_parser<http::empty_body>& parser,
                   std::string& buf, size_t& used) {
  parser.header_limit(kHeaderLimit);
  // The body is never parsed (it is spliced). Not boost::none: 1.74 compares a length with it.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  char chunk[16 * 1024];
  while (!parser.is_header_done()) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return c.os_fail(ErrorCode::kNetwork, "reading the answer");
    if (n == 0) return c.fail(ErrorCode::kNetwork, "closed before its answer", true);
    buf.append(chunk, static_cast<size_t>(n));
    boost::beast::error_code ec;
    used += parser.put(boost::asio::buffer(buf.data() + used, buf.size() - used), ec);
    if (ec && ec != http::error::need_more) {
      return c.fail(ErrorCode::kParse, "malformed answer: " + ec.message());
    }
  }
  return {};
}

// What the answer's header promises: the file's size and the bytes to deliver.
struct Expect {
  uint64_t file_size = 0, length = 0;
};

Result<Expect> check_answer(const Call& c, const http::response_parser<http::empty_body>& parser,
                            uint64_t offset, std::optional<uint64_t> end, std::string_view early) {
  const auto& res = parser.get();
  const unsigned status = res.result_int();
  if (status != 200 && status != 206) {
    std::string line(trim(early.substr(0, early.find('\n')).substr(0, 300), " \t\r"));
    return c.fail(status == 404 ? ErrorCode::kNotFound : ErrorCode::kHttp,
                  std::to_string(status) + (line.empty() ? "" : " " + quote_untrusted(line)),
                  status == 429 || status >= 500);
  }
  const auto length = parser.content_length();
  if (!length) return c.fail(ErrorCode::kParse, "malformed answer (no Content-Length)");
  Expect e;
  if (status == 200) {
    if (offset > 0) return c.fail(ErrorCode::kHttp, "200 to a Range request from " + std::to_string(offset));
    e.file_size = *length;
    e.length = std::min(end.value_or(e.file_size), e.file_size);
    return e;
  }
  const auto field = res[http::field::content_range];
  const std::string_view cr(field.data(), field.size());
  const auto got = parse_content_range(cr, e.file_size);
  if (!got) return c.fail(ErrorCode::kParse, "206 with Content-Range " + quote_untrusted(cr));
  const uint64_t want_last = std::min(end.value_or(e.file_size), e.file_size) - 1;
  if (got->first != offset || got->last != want_last || got->length() != *length) {
    return c.fail(ErrorCode::kHttp, "206 for bytes " + std::string(cr) + " of a range from " +
                                        std::to_string(offset));
  }
  e.length = *length;
  return e;
}

// The calling thread's pipe; recreated after a failure may have left bytes in it.
struct Pipe {
  UniqueFd rd, wr;
  int cap = 0;
};

Result<Pipe*> thread_pipe(const Call& c) {
  thread_local Pipe p;
  if (!p.rd.valid()) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return c.os_fail(ErrorCode::kIo, "pipe");
    p.rd.reset(ends[0]);
    p.wr.reset(ends[1]);
    ::fcntl(ends[1], F_SETPIPE_SZ, kPipeSize);  // best effort: the default size works too
    p.cap = std::max(::fcntl(ends[1], F_GETPIPE_SZ), 4096);
  }
  return &p;
}

// Moves `want` bytes from `from` to out.fd through a pipe. A failure on the node's side
// (closed, reset, stalled) first moves what the pipe holds.
Status splice_through(const Call& c, const Pipe& pipe, int from, uint64_t want,
                      SpliceOut& out) {
  const int cap = pipe.cap;
  const int rd = pipe.rd.get(), wr = pipe.wr.get();
  uint64_t done = 0;
  while (done < want) {
    const ssize_t in = ::splice(from, nullptr, wr, nullptr,
                                static_cast<size_t>(std::min<uint64_t>(want - done, cap)),
                                SPLICE_F_MOVE | SPLICE_F_MORE);
    if (in < 0 && errno == EINTR) continue;
    if (in <= 0) {
      const std::string why = in == 0 ? "closed" : errno == EAGAIN ? "stalled" : std::strerror(errno);
      return c.fail(ErrorCode::kNetwork, "body broke off (" + why + ") with " +
                                             std::to_string(want - done) + " bytes to go",
                    true);
    }
    for (size_t left = static_cast<size_t>(in); left > 0;) {
      const bool last = done + left == want;
      const ssize_t m = ::splice(rd, nullptr, out.fd, nullptr, left,
                                 SPLICE_F_MOVE | (last ? 0 : SPLICE_F_MORE));
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) {
        out.client_left = true;
        return c.os_fail(ErrorCode::kNetwork, "the client took no more bytes");
      }
      left -= static_cast<size_t>(m);
      done += static_cast<uint64_t>(m);
      out.moved += static_cast<uint64_t>(m);
    }
  }
  return {};
}

Status splice_body(const Call& c, int from, uint64_t want, SpliceOut& out) {
  DEPOT_ASSIGN_OR_RETURN(Pipe* pipe, thread_pipe(c));
  Status moved = splice_through(c, *pipe, from, want, out);
  if (!moved.ok()) *pipe = Pipe{};
  return moved;
}

// A read's answer once its header is in `parser` (body bytes from buf[used] on): checks it,
// sends the first bytes through `sink`, flushes, splices the rest. `complete`: the body was
// delivered to its last byte and nothing followed it, so the connection may serve again.
struct Delivered {
  uint64_t through_sink = 0;
  bool complete = false;
};

Result<Delivered> deliver(const Call& c, int fd,
                          const http::response_parser<http::empty_body>& parser, std::string& buf,
                          size_t used, uint64_t offset, std::optional<uint64_t> end,
                          const std::function<void(uint64_t, long)>& on_start,
                          const BodyWriter& sink, SpliceOut& out) {
  std::string_view early = std::string_view(buf).substr(used);
  DEPOT_ASSIGN_OR_RETURN(Expect e, check_answer(c, parser, offset, end, early));
  if (on_start) on_start(e.file_size, parser.get().result_int());
  const bool whole = e.length == parser.content_length().value_or(0);  // not cut at `end`
  if (e.length == 0) return Delivered{0, whole && early.empty()};
  if (early.empty()) {  // the first bytes go through the sink, the caller's header with them
    buf.resize(static_cast<size_t>(std::min<uint64_t>(kFirstRead, e.length)));
    ssize_t n;
    do n = ::recv(fd, buf.data(), buf.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return c.fail(ErrorCode::kNetwork, "body broke off before its first byte", true);
    early = std::string_view(buf.data(), static_cast<size_t>(n));
  }
  const bool extra = early.size() > e.length;
  early = early.substr(0, static_cast<size_t>(std::min<uint64_t>(early.size(), e.length)));
  if (!sink(early.data(), early.size())) {
    return c.fail(ErrorCode::kIo, "the sink stopped the transfer at its first bytes");
  }
  if (early.size() == e.length) return Delivered{early.size(), whole && !extra};
  if (!out.flush()) {
    out.client_left = true;
    return c.fail(ErrorCode::kNetwork, "the client took no more bytes", true);
  }
  DEPOT_TRY(splice_body(c, fd, e.length - early.size(), out));
  return Delivered{early.size(), whole};
}

}  // namespace

Result<uint64_t> spliced_get(const NodeEndpoint& ep, const NodeTimeouts& timeouts,
                             const std::string& url, uint64_t offset,
                             std::optional<uint64_t> end,
                             const std::function<void(uint64_t, long)>& on_start,
                             const BodyWriter& sink, SpliceOut& out, std::string_view via) {
  const Call c{ep, timeouts, url};
  if (end && *end <= offset) return c.fail(ErrorCode::kInvalidArgument, "empty range");
  DEPOT_ASSIGN_OR_RETURN(UrlParts parts, split_url(c));
  const std::string key = parts.host + ":" + parts.port;
  const std::string request = request_of(ep, parts, offset, end, via);
  std::optional<http::response_parser<http::empty_body>> parser;
  std::string buf;
  size_t used = 0;
  UniqueFd fd = idle_pool().take(key);
  // An idle connection the node has closed since fails before any answer byte: once more on
  // a new one.
  for (bool reused = fd.valid();; reused = false) {
    if (!reused) {
      DEPOT_ASSIGN_OR_RETURN(fd, connect_to(c, parts));
    }
    parser.emplace();
    buf.clear();
    used = 0;
    Status sent = send_all(c, fd.get(), request);
    if (sent.ok()) sent = read_header(c, fd.get(), *parser, buf, used);
    if (sent.ok()) break;
    if (!reused || !buf.empty()) return sent.error();
  }
  DEPOT_ASSIGN_OR_RETURN(Delivered d, deliver(c, fd.get(), *parser, buf, used, offset, end,
                                              on_start, sink, out));
  if (d.complete && parser->keep_alive()) idle_pool().give(key, std::move(fd));
  return d.through_sink;
}

}  // namespace depot::cluster
