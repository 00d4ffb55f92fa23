#include "cluster/node_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "cluster/node_splice.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "serve/http_semantics.h"
#include "transfer/http_util.h"

namespace depot::cluster {
namespace {

constexpr std::string_view kFilesApi = "/_depot/v1/files/";
constexpr size_t kMaxApiBody = 64 << 20;  // an inventory page of 10000 changes is ~3 MB
constexpr size_t kMaxErrorBody = 4096;    // kept of a failed request's body, for its message
constexpr size_t kMaxInventoryLimit = 10000;  // the node refuses more
// curl's buffers for file bodies (defaults: 16 KiB received, 64 KiB sent): larger socket reads
// and writes, so a proxied GET or a fanned-out PUT makes fewer system calls and wake-ups.
constexpr long kBodyBuffer = 256 * 1024;

// The calling thread's easy handle, reset; a fresh one when the thread's is in use (a
// callback calling back into a NodeClient). Not shared between threads.
class Handle {
 public:
  Handle() {
    static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)global_init;
    Slot& slot = thread_slot();
    if (!slot.busy) {
      if (slot.easy == nullptr) slot.easy = curl_easy_init();
      slot.busy = true;
      easy_ = slot.easy;
      slot_ = &slot;
    } else {
      easy_ = curl_easy_init();
    }
    if (easy_ != nullptr) curl_easy_reset(easy_);
  }
  ~Handle() {
    if (slot_ != nullptr) {
      slot_->busy = false;
    } else if (easy_ != nullptr) {
      curl_easy_cleanup(easy_);
    }
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() const { return easy_; }

 private:
  struct Slot {
    CURL* easy = nullptr;
    bool busy = false;
    ~Slot() {
      if (easy != nullptr) curl_easy_cleanup(easy);
    }
  };
  static Slot& thread_slot() {
    thread_local Slot slot;
    return slot;
  }
  CURL* easy_ = nullptr;
  Slot* slot_ = nullptr;
};

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void add_header(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown != nullptr) {
    (void)list.release();
    list.reset(grown);
  }
}

// The headers of the final response (those of a 100 Continue are dropped).
struct Headers {
  std::string sha256, seq, content_range;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<Headers*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    *h = {};
  } else if (header_is(line, "X-Depot-Sha256")) {
    h->sha256 = header_value(line, 14);
  } else if (header_is(line, "X-Depot-Seq")) {
    h->seq = header_value(line, 11);
  } else if (header_is(line, "Content-Range")) {
    h->content_range = header_value(line, 13);
  }
  return size * n;
}

// Collects a response body up to a cap (the rest is dropped).
struct BodyBuffer {
  std::string text;
  size_t cap = kMaxApiBody;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* b = static_cast<BodyBuffer*>(user);
  size_t len = size * n;
  if (b->text.size() < b->cap) b->text.append(data, std::min(len, b->cap - b->text.size()));
  return len;
}

// The first line of a node's text answer, printable and capped.
std::string one_line(std::string_view body) {
  std::string_view first = trim(body.substr(0, body.find('\n')), " \t\r");
  std::string out;
  for (unsigned char c : first.substr(0, 300)) {
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (first.size() > 300) out += "...";
  return out;
}

long response_code(CURL* easy) {
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

// A JSON answer's object, or nullopt when it is not one.
std::optional<nlohmann::json> parse_object(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

NodeFile file_of(const nlohmann::json& j) {
  NodeFile f;
  f.path = j.at("path").get<std::string>();
  f.size = j.at("size").get<uint64_t>();
  f.sha256 = j.at("sha256").get<std::string>();
  f.seq = j.at("seq").get<int64_t>();
  return f;
}

NodeStatus status_of(const nlohmann::json& j) {
  NodeStatus s;
  s.name = j.at("name").get<std::string>();
  s.capacity = j.at("capacity").get<uint64_t>();
  s.used = j.at("used").get<uint64_t>();
  s.free = j.at("free").get<uint64_t>();
  s.size = j.value("size", uint64_t{0});
  s.inflight = j.at("inflight_bytes").get<uint64_t>();
  s.files = j.at("files").get<uint64_t>();
  s.hops = j.value("hops", 0u);
  return s;
}

ChangePage page_of(const nlohmann::json& j) {
  ChangePage page;
  for (const auto& c : j.at("changes")) {
    NodeChange ch;
    ch.seq = c.at("seq").get<int64_t>();
    ch.path = c.at("path").get<std::string>();
    const std::string op = c.at("op").get<std::string>();
    ch.deleted = op == "delete";
    if (!ch.deleted && op != "put") throw std::invalid_argument("op " + op);
    if (!ch.deleted) {
      ch.size = c.at("size").get<uint64_t>();
      ch.sha256 = c.at("sha256").get<std::string>();
    }
    page.changes.push_back(std::move(ch));
  }
  page.last = j.at("last").get<int64_t>();
  page.more = j.at("more").get<bool>();
  return page;
}

// One request to the node: its URL, what it is called in messages, and the options every
// request shares. Lives on the calling thread for the duration of one call.
class NodeCall {
 public:
  NodeCall(const NodeEndpoint& ep, const NodeTimeouts& t, std::string method,
           std::string_view path_or_route, std::string url, std::string_view via, bool streamed)
      : ep_(ep), method_(std::move(method)), what_(method_ + " " + std::string(path_or_route)),
        url_(std::move(url)) {
    CURL* e = easy();
    if (e == nullptr) return;
    errbuf_[0] = '\0';
    if (!ep.token.empty()) add_header(headers_, "Authorization: Bearer " + ep.token);
    if (!via.empty()) add_header(headers_, "X-Depot-Via: " + std::string(via));
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(t.connect.count()));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>((t.stall.count() + 999) / 1000)));
    if (!streamed) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.request.count()));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  }

  CURL* easy() const { return handle_.get(); }
  void add(const std::string& header_line) { add_header(headers_, header_line); }

  // Runs the request; the error of a transport failure (kUnreachable when no request was sent).
  std::optional<Error> perform() {
    if (easy() == nullptr) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    curl_easy_setopt(easy(), CURLOPT_HTTPHEADER, headers_.get());
    CURLcode rc = curl_easy_perform(easy());
    status = response_code(easy());
    if (rc == CURLE_OK) return std::nullopt;
    std::string cause = errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(rc);
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(easy(), CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    const bool unsent = pretransfer_us == 0 || rc == CURLE_COULDNT_CONNECT ||
                        rc == CURLE_COULDNT_RESOLVE_HOST;
    Error e = make_error(unsent ? ErrorCode::kUnreachable : ErrorCode::kNetwork,
                         "node " + ep_.name + ": " + method_ + " " + url_ + ": " + cause, true);
    if (rc == CURLE_URL_MALFORMAT) e.code = ErrorCode::kInvalidArgument, e.transient = false;
    return e;
  }

  // "node N: METHOD PATH: CAUSE".
  std::string message(std::string_view cause) const {
    return "node " + ep_.name + ": " + what_ + ": " + std::string(cause);
  }
  Error fail(ErrorCode code, std::string_view cause, bool transient = false) const {
    return make_error(code, message(cause), transient);
  }
  // The node answered `status` where it should not have: its text names the cause.
  std::string answer_cause() const {
    std::string line = one_line(body.text);
    return std::to_string(status) + (line.empty() ? "" : " " + line);
  }
  Error http_error() const {
    return fail(status == 404 ? ErrorCode::kNotFound : ErrorCode::kHttp, answer_cause(),
                status == 429 || status >= 500);
  }
  Error bad_answer(std::string_view why) const {
    return fail(ErrorCode::kParse, "malformed answer (" + std::string(why) + ")");
  }

  long status = 0;
  Headers headers;
  BodyBuffer body;

 private:
  const NodeEndpoint& ep_;
  std::string method_, what_, url_;
  Handle handle_;
  Slist headers_;
  char errbuf_[CURL_ERROR_SIZE];
};

// Runs `call` as a GET of a JSON object and converts it with `convert`.
template <class T, class F>
Result<T> get_json(NodeCall& call, F convert) {
  if (auto e = call.perform()) return *e;
  if (call.status != 200) return call.http_error();
  auto j = parse_object(call.body.text);
  if (!j) return call.bad_answer("not a JSON object");
  try {
    return convert(*j);
  } catch (const std::exception& ex) {
    return call.bad_answer(ex.what());
  }
}

}  // namespace

NodeClient::NodeClient(NodeEndpoint endpoint, NodeTimeouts timeouts)
    : ep_(std::move(endpoint)), timeouts_(timeouts) {}

std::string NodeClient::file_url(std::string_view path) const {
  return ep_.url + "/" + aws_uri_encode(path, /*keep_slash=*/true);
}

Result<NodeStatus> NodeClient::status(std::string_view via) const {
  NodeCall call(ep_, timeouts_, "GET", "status", ep_.url + "/_depot/v1/status", via, false);
  return get_json<NodeStatus>(call, status_of);
}

Result<std::string> NodeClient::api_get(std::string_view route) const {
  NodeCall call(ep_, timeouts_, "GET", route, ep_.url + std::string(route), {}, false);
  if (auto e = call.perform()) return *e;
  if (call.status != 200) return call.http_error();
  return std::move(call.body.text);
}

Result<NodeClient::ApiAnswer> NodeClient::api_request(std::string_view method,
                                                      std::string_view route,
                                                      std::string_view json_body,
                                                      std::chrono::milliseconds wait) const {
  NodeCall call(ep_, timeouts_, std::string(method), route, ep_.url + std::string(route), {},
                true);
  const std::string body(json_body), verb(method);
  curl_easy_setopt(call.easy(), CURLOPT_CUSTOMREQUEST, verb.c_str());
  curl_easy_setopt(call.easy(), CURLOPT_POSTFIELDS, body.c_str());  // read during perform
  curl_easy_setopt(call.easy(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  call.add("Content-Type: application/json");
  curl_easy_setopt(call.easy(), CURLOPT_LOW_SPEED_TIME, 0L);
  curl_easy_setopt(call.easy(), CURLOPT_TIMEOUT_MS, static_cast<long>(wait.count()));
  if (auto e = call.perform()) return *e;
  return ApiAnswer{call.status, std::move(call.body.text)};
}

Result<ChangePage> NodeClient::inventory(int64_t since, size_t limit) const {
  limit = std::clamp<size_t>(limit, 1, kMaxInventoryLimit);
  std::string query = "since=" + std::to_string(since) + "&limit=" + std::to_string(limit);
  NodeCall call(ep_, timeouts_, "GET", "inventory?" + query,
                ep_.url + "/_depot/v1/inventory?" + query, {}, false);
  return get_json<ChangePage>(call, page_of);
}

Result<std::optional<NodeFile>> NodeClient::head(std::string_view path,
                                                 std::string_view via) const {
  std::string url = ep_.url + std::string(kFilesApi) + aws_uri_encode(path, true);
  NodeCall call(ep_, timeouts_, "HEAD", path, std::move(url), via, false);
  curl_easy_setopt(call.easy(), CURLOPT_NOBODY, 1L);
  if (auto e = call.perform()) return *e;
  if (call.status == 404) return std::optional<NodeFile>();
  if (call.status != 200) return call.http_error();
  curl_off_t length = -1;
  curl_easy_getinfo(call.easy(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  // A gateway answering as a node has no seq of its own: 0.
  auto seq = call.headers.seq.empty() ? std::optional<uint64_t>(0) : parse_u64(call.headers.seq);
  if (length < 0) return call.bad_answer("no Content-Length");
  if (call.headers.sha256.empty()) return call.bad_answer("no X-Depot-Sha256");
  if (!seq || *seq > static_cast<uint64_t>(INT64_MAX)) return call.bad_answer("X-Depot-Seq");
  NodeFile f{std::string(path), static_cast<uint64_t>(length), call.headers.sha256,
             static_cast<int64_t>(*seq)};
  return std::optional<NodeFile>(std::move(f));
}

Result<bool> NodeClient::remove(std::string_view path, std::string_view via) const {
  std::string url = ep_.url + std::string(kFilesApi) + aws_uri_encode(path, true);
  NodeCall call(ep_, timeouts_, "DELETE", path, std::move(url), via, false);
  curl_easy_setopt(call.easy(), CURLOPT_CUSTOMREQUEST, "DELETE");
  call.body.cap = kMaxErrorBody;
  if (auto e = call.perform()) return *e;
  if (call.status == 200) return true;
  if (call.status == 404) return false;
  return call.http_error();
}

namespace {

// Feeds a PUT's body from a BodyReader, never more than the declared size.
struct Upload {
  const BodyReader* reader;
  uint64_t size;
  uint64_t sent = 0;
  std::string problem;  // why the upload was aborted; "" when it was not
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, up->size - up->sent));
  if (want == 0) return 0;
  long got = (*up->reader)(buf, want);
  if (got < 0 || static_cast<size_t>(got) > want) {
    up->problem = got < 0 ? "the body reader aborted" : "the body reader overran its buffer";
  } else if (got == 0) {
    up->problem = "the body ended";
  } else {
    up->sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  up->problem += " after " + std::to_string(up->sent) + " of " + std::to_string(up->size) +
                 " bytes";
  return CURL_READFUNC_ABORT;
}

}  // namespace

NodeClient::PutResult NodeClient::put(std::string_view path, uint64_t size,
                                      std::string_view sha256, const BodyReader& body,
                                      std::string_view via) const {
  PutResult out;
  std::string url = ep_.url + std::string(kFilesApi) + aws_uri_encode(path, true);
  NodeCall call(ep_, timeouts_, "PUT", path, std::move(url), via, true);
  Upload up{&body, size, 0, {}};
  call.add("Expect: 100-continue");
  call.add("X-Depot-Sha256: " + std::string(sha256));
  call.add("X-Depot-Copies: 1");  // a gateway as a node makes one leaf copy (nodes ignore it)
  curl_easy_setopt(call.easy(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(call.easy(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(call.easy(), CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(call.easy(), CURLOPT_READDATA, &up);
  curl_easy_setopt(call.easy(), CURLOPT_UPLOAD_BUFFERSIZE, kBodyBuffer);
  // A node that answers before the whole body is sent may reset the connection: its answer
  // is still the outcome.
  auto err = call.perform();
  if (err && (call.status < 200 || !up.problem.empty())) {
    out.failure.message = up.problem.empty() ? err->message : call.message(up.problem);
    return out;
  }
  out.failure.status = static_cast<int>(call.status);
  if (call.status != 201) {
    out.failure.message = call.message(call.answer_cause());
    return out;
  }
  auto j = parse_object(call.body.text);
  try {
    if (!j) throw std::invalid_argument("not a JSON object");
    out.stored = file_of(*j);
  } catch (const std::exception& ex) {
    out.failure.message = call.bad_answer(ex.what()).message;
  }
  return out;
}

namespace {

// A GET in progress: the range asked for, what the answer announced, what was delivered.
struct Download {
  NodeCall* call;
  uint64_t offset;
  std::optional<uint64_t> end;
  const std::function<void(uint64_t, long)>* on_start;
  const BodyWriter* sink;
  bool started = false;
  uint64_t expected = 0;   // bytes to deliver, once started
  uint64_t delivered = 0;
  bool enough = false;     // stopped at `end` of a 200 (a Range the answer ignored)
  std::optional<Error> error;  // why the transfer was stopped
};

// The file's size from a 206's Content-Range, checked against the range asked for.
Result<uint64_t> partial_size(Download& d, curl_off_t length) {
  NodeCall& c = *d.call;
  uint64_t total = 0;
  const auto got = parse_content_range(c.headers.content_range, total);
  if (!got) {
    return c.bad_answer("206 with Content-Range " + quote_untrusted(c.headers.content_range));
  }
  const uint64_t first = got->first, last = got->last;
  uint64_t want_last = std::min(d.end.value_or(total), total) - 1;
  if (first != d.offset || last != want_last) {
    return c.fail(ErrorCode::kHttp, "206 for bytes " + std::to_string(first) + "-" +
                                        std::to_string(last) + " of a range from " +
                                        std::to_string(d.offset));
  }
  d.expected = last - first + 1;
  if (length >= 0 && static_cast<uint64_t>(length) != d.expected) {
    return c.fail(ErrorCode::kSizeMismatch, "206 of " + std::to_string(length) +
                                                " bytes for a range of " +
                                                std::to_string(d.expected));
  }
  return total;
}

// Checks a 2xx answer once its headers are in and announces it to on_start.
std::optional<Error> begin(Download& d) {
  NodeCall& c = *d.call;
  d.started = true;
  curl_off_t length = -1;
  curl_easy_getinfo(c.easy(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  uint64_t file_size = 0;
  if (c.status == 206) {
    auto total = partial_size(d, length);
    if (!total.ok()) return total.error();
    file_size = *total;
  } else {
    if (length < 0) return c.bad_answer("200 without Content-Length");
    if (d.offset > 0) {
      return c.fail(ErrorCode::kHttp, "200 to a Range request from " + std::to_string(d.offset));
    }
    file_size = static_cast<uint64_t>(length);
    d.expected = std::min(d.end.value_or(file_size), file_size);
  }
  if (*d.on_start) (*d.on_start)(file_size, c.status);
  return std::nullopt;
}

bool success(long status) { return status == 200 || status == 206; }

size_t on_get_body(char* data, size_t size, size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  NodeCall& c = *d->call;
  size_t len = size * n;
  if (!d->started) {
    c.status = response_code(c.easy());
    if (!success(c.status)) return on_body(data, size, n, &c.body);  // the node's error text
    if ((d->error = begin(*d))) return 0;
  }
  if (!success(c.status)) return on_body(data, size, n, &c.body);
  size_t take = static_cast<size_t>(std::min<uint64_t>(len, d->expected - d->delivered));
  if (take > 0 && !(*d->sink)(data, take)) {
    d->error = c.fail(ErrorCode::kIo, "the sink stopped the transfer after " +
                                          std::to_string(d->delivered) + " bytes");
    return 0;
  }
  d->delivered += take;
  if (take == len) return len;
  d->enough = c.status == 200;
  if (!d->enough) d->error = c.fail(ErrorCode::kSizeMismatch, "body longer than announced");
  return 0;
}

}  // namespace

Result<uint64_t> NodeClient::get(std::string_view path, uint64_t offset,
                                 std::optional<uint64_t> end,
                                 const std::function<void(uint64_t, long)>& on_start,
                                 const BodyWriter& sink, std::string_view via) const {
  NodeCall call(ep_, timeouts_, "GET", path, file_url(path), via, true);
  if (end && *end <= offset) {
    return call.fail(ErrorCode::kInvalidArgument, "empty range [" + std::to_string(offset) +
                                                      ", " + std::to_string(*end) + ")");
  }
  std::string range;
  if (offset > 0 || end) {
    range = std::to_string(offset) + "-" + (end ? std::to_string(*end - 1) : "");
    curl_easy_setopt(call.easy(), CURLOPT_RANGE, range.c_str());
  }
  Download d{&call, offset, end, &on_start, &sink, false, 0, 0, false, std::nullopt};
  call.body.cap = kMaxErrorBody;
  curl_easy_setopt(call.easy(), CURLOPT_WRITEFUNCTION, on_get_body);
  curl_easy_setopt(call.easy(), CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(call.easy(), CURLOPT_BUFFERSIZE, kBodyBuffer);
  auto err = call.perform();
  if (d.error) return *d.error;
  if (err && !d.enough) return *err;
  if (!success(call.status)) return call.http_error();
  if (!d.started) {
    if (auto e = begin(d)) return *e;  // an empty body: the write callback never ran
  }
  if (d.delivered != d.expected) {
    return call.fail(ErrorCode::kNetwork, "body ended after " + std::to_string(d.delivered) +
                                              " of " + std::to_string(d.expected) + " bytes",
                     true);
  }
  return d.delivered;
}

Result<uint64_t> NodeClient::get_to(std::string_view path, uint64_t offset,
                                    std::optional<uint64_t> end,
                                    const std::function<void(uint64_t, long)>& on_start,
                                    const BodyWriter& sink, SpliceOut& out,
                                    std::string_view via) const {
  if (out.fd < 0 || !ep_.url.starts_with("http://")) {
    return get(path, offset, end, on_start, sink, via);
  }
  return spliced_get(ep_, timeouts_, file_url(path), offset, end, on_start, sink, out, via);
}

}  // namespace depot::cluster
