// SigV4 with libcurl 7.88 (CURLOPT_AWS_SIGV4), facts checked against its sources' history and
// against RGW 16.2:
// - The payload hash in the signature is the value of a caller-supplied x-amz-content-sha256
//   header when there is one (curl 7.87+); the header is signed and sent as given, and the
//   server hashes the body it receives and refuses a mismatch (XAmzContentSHA256Mismatch), so
//   the declared digest is verified by the server. Without the header, curl 7.88 hashes
//   CURLOPT_POSTFIELDS (or "" for a read-callback upload or no body) and sends no
//   x-amz-content-sha256 at all, which RGW refuses (SignatureDoesNotMatch). So every request
//   here sends it: sha256("") for bodiless requests, the declared digest for PUT bodies and
//   the computed one for POST bodies.
// - curl 7.88 signs the URL's path and query as given: it neither sorts the query nor adds
//   "=" to valueless parameters ("?uploads" fails, "?uploads=" works; an unsorted query
//   fails). Paths must be percent-encoded in canonical form (every byte but A-Za-z0-9-._~ and
//   '/'; a raw '+' fails).
// - Every header in CURLOPT_HTTPHEADER is signed, including an empty "Expect:" meant to
//   suppress 100-continue, which is then signed but not sent (SignatureDoesNotMatch): uploads
//   keep curl's Expect: 100-continue, which RGW answers at once.
// - A caller-supplied X-Amz-Date is used as the signing time (how clock_offset works).
// - RGW accepts any region string in the credential scope.

#include "storage/s3/s3_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <queue>
#include <thread>

#include "core/digest.h"
#include "core/text.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_error.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxAnswerBody = 64u << 20;
const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool is_2xx(long status) { return status >= 200 && status < 300; }

// The final error of a request tried `attempts` times: says so when it was retried.
Error given_up(Error e, int attempts) {
  if (attempts > 1) e.message += " (gave up after " + std::to_string(attempts) + " attempts)";
  return e;
}

// One attempt of one request on one easy handle.
struct Call {
  const S3Request* req = nullptr;
  const S3Config* cfg = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
  size_t read_off = 0;
  S3Response resp;
  std::optional<Error> sink_error;
  bool too_large = false;
  int attempt = 0;
  std::chrono::system_clock::time_point signed_at;  // this machine's clock + clock_offset

  ~Call() { curl_slist_free_all(headers); }

  void prepare(const std::string& url_base);
  Result<S3Response> finish(CURLcode rc);
  Error transport_error(CURLcode rc) const;
  std::optional<std::chrono::seconds> server_ahead() const;

  static size_t on_write(char* data, size_t size, size_t n, void* user);
  static size_t on_header(char* data, size_t size, size_t n, void* user);
  static size_t on_read(char* buf, size_t size, size_t n, void* user);
  static int on_seek(void* user, curl_off_t offset, int origin);
};

size_t Call::on_write(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Call*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  if (is_2xx(status) && c->req->sink) {
    Status st = c->req->sink->write(std::as_bytes(std::span(data, len)));
    if (!st.ok()) {
      c->sink_error = st.error();
      return 0;
    }
    return len;
  }
  size_t cap = is_2xx(status) ? kMaxAnswerBody : kMaxErrorBody;
  if (c->resp.body.size() + len > cap) {
    if (is_2xx(status)) {
      c->too_large = true;
      return 0;
    }
    len = cap - std::min(cap, c->resp.body.size());  // keep the start of an error body
    c->resp.body.append(data, len);
    return size * n;
  }
  c->resp.body.append(data, len);
  return len;
}

size_t Call::on_header(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Call*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue): forget the last
    c->resp.etag.clear();
    c->resp.last_modified.clear();
    c->resp.date.clear();
    c->resp.content_range.clear();
    c->resp.meta_sha256.clear();
    c->resp.content_length = -1;
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view name = line.substr(0, colon);
  std::string_view value = trim(line.substr(colon + 1), " \t\r\n");
  if (iequals(name, "ETag")) {
    c->resp.etag = std::string(trim(value, "\""));
  } else if (iequals(name, "Last-Modified")) {
    c->resp.last_modified = std::string(value);
  } else if (iequals(name, kMetaSha256)) {
    c->resp.meta_sha256 = std::string(value);
  } else if (iequals(name, "Date")) {
    c->resp.date = std::string(value);
  } else if (iequals(name, "Content-Range")) {
    c->resp.content_range = std::string(value);
  } else if (iequals(name, "Content-Length")) {
    if (auto v = parse_u64(value)) c->resp.content_length = static_cast<int64_t>(*v);
  }
  return size * n;
}

size_t Call::on_read(char* buf, size_t size, size_t n, void* user) {
  auto* c = static_cast<Call*>(user);
  size_t left = c->req->body.size() - c->read_off;
  size_t len = std::min(left, size * n);
  if (len == 0) return 0;
  std::memcpy(buf, c->req->body.data() + c->read_off, len);
  c->read_off += len;
  return len;
}

int Call::on_seek(void* user, curl_off_t offset, int origin) {
  auto* c = static_cast<Call*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > c->req->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  c->read_off = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

void Call::prepare(const std::string& url_base) {
  curl_easy_reset(easy);
  resp = S3Response{};
  read_off = 0;
  sink_error.reset();
  too_large = false;
  errbuf[0] = '\0';
  curl_slist_free_all(headers);
  headers = nullptr;

  std::string url = url_base;
  if (!req->key.empty()) url += "/" + aws_uri_encode(req->key, /*keep_slash=*/true);
  if (!req->query.empty()) url += "?" + req->query;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  std::string sigv4 = "aws:amz:" + cfg->region + ":s3";
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(easy, CURLOPT_USERNAME, cfg->creds.access_key.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, cfg->creds.secret_key.c_str());

  std::string sha = !req->body_sha256.empty() ? req->body_sha256
                    : req->body.empty()       ? kEmptySha256
                                              : sha256_hex(req->body);
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + sha).c_str());
  if (!cfg->creds.session_token.empty()) {
    headers =
        curl_slist_append(headers, ("x-amz-security-token: " + cfg->creds.session_token).c_str());
  }
  signed_at = std::chrono::system_clock::now() + cfg->clock_offset;
  if (cfg->clock_offset.count() != 0) {
    headers = curl_slist_append(headers, ("X-Amz-Date: " + amz_date(signed_at)).c_str());
  }
  for (const std::string& h : req->headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  std::string_view method = req->method;
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Call::on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, this);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &Call::on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, this);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req->body.size()));
  } else if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req->body.size()));
    static const char kNothing[] = "";
    curl_easy_setopt(
        easy, CURLOPT_POSTFIELDS,
        req->body.empty() ? kNothing : reinterpret_cast<const char*>(req->body.data()));
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Call::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Call::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(cfg->connect_timeout.count() * 1000));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(cfg->stall_timeout.count()));
}

Error Call::transport_error(CURLcode rc) const {
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  std::string prefix = req->what + ": " + req->op + " failed: ";
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
      return make_error(ErrorCode::kUnreachable,
                        prefix + "endpoint " + cfg->endpoint + " unreachable (" + detail + ")",
                        /*transient=*/true);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make_error(ErrorCode::kInvalidArgument,
                        prefix + "bad endpoint " + cfg->endpoint + " (" + detail + ")");
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(ErrorCode::kNetwork,
                        prefix + "stalled: no byte moved for " +
                            std::to_string(cfg->stall_timeout.count()) + " s (" + detail + ")",
                        /*transient=*/true);
    default:
      return make_error(ErrorCode::kNetwork, prefix + detail, /*transient=*/true);
  }
}

std::optional<std::chrono::seconds> Call::server_ahead() const {
  auto server = parse_http_time(resp.date);  // whole seconds, so the signing time too
  if (!server) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(
      *server - std::chrono::floor<std::chrono::seconds>(signed_at));
}

Result<S3Response> Call::finish(CURLcode rc) {
  if (sink_error) return *sink_error;
  if (too_large) {
    return make_error(ErrorCode::kParse,
                      req->what + ": " + req->op + " failed: the answer is larger than 64 MiB");
  }
  if (rc != CURLE_OK) return transport_error(rc);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
  if (is_2xx(resp.status) || std::ranges::find(req->accepted, resp.status) != req->accepted.end()) {
    return std::move(resp);
  }
  return s3_status_error(req->op, req->what, resp.status, resp.body, server_ahead());
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_time(const std::string& text) {
  time_t t = curl_getdate(text.c_str(), nullptr);
  // Past 2200 is no server's date, and far enough out the clock's nanoseconds overflow.
  constexpr time_t kYear2200 = 7258118400;
  if (t < 0 || t > kYear2200) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

struct S3Http::Impl {
  const S3Config& cfg;
  std::string url_base;  // endpoint + "/" + bucket
  Clock& clock;
  std::mutex mu;
  std::vector<CURL*> idle_easy;
  std::vector<CURLM*> idle_multi;

  explicit Impl(const S3Config& c)
      : cfg(c),
        url_base(c.endpoint + "/" + c.where.bucket),
        clock(c.clock ? *c.clock : system_clock()) {}

  CURL* acquire_easy() {
    std::lock_guard lock(mu);
    if (idle_easy.empty()) return curl_easy_init();
    CURL* e = idle_easy.back();
    idle_easy.pop_back();
    return e;
  }
  // Reset first: the handle must not keep pointers into a finished Call (its live connection
  // stays).
  void release_easy(CURL* e) {
    curl_easy_reset(e);
    std::lock_guard lock(mu);
    idle_easy.push_back(e);
  }
  CURLM* acquire_multi() {
    std::lock_guard lock(mu);
    if (idle_multi.empty()) return curl_multi_init();
    CURLM* m = idle_multi.back();
    idle_multi.pop_back();
    return m;
  }
  void release_multi(CURLM* m) {
    std::lock_guard lock(mu);
    idle_multi.push_back(m);
  }

  // The delay before the next attempt of `call` after `error`, or nullopt to give up.
  std::optional<milliseconds> retry_delay(const Call& call, const Error& error) {
    if (!call.req->idempotent) return std::nullopt;
    return cfg.retry.next_delay(call.attempt, error, std::nullopt, clock);
  }

  // Before another attempt: a streaming sink starts again from byte 0.
  Status rewind(const Call& call) { return call.req->sink ? call.req->sink->reset() : ok_status(); }

  void run_many(CURLM* multi, std::span<const S3Request> reqs, size_t parallel,
                std::vector<Result<S3Response>>& out);
};

S3Http::S3Http(const S3Config& config) : impl_(std::make_unique<Impl>(config)) {
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)global_init;
}

S3Http::~S3Http() {
  for (CURL* e : impl_->idle_easy) curl_easy_cleanup(e);
  for (CURLM* m : impl_->idle_multi) curl_multi_cleanup(m);
}

Result<S3Response> S3Http::perform(const S3Request& request) {
  Call call;
  call.req = &request;
  call.cfg = &impl_->cfg;
  call.easy = impl_->acquire_easy();
  if (!call.easy) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  while (true) {
    ++call.attempt;
    call.prepare(impl_->url_base);
    Result<S3Response> r = call.finish(curl_easy_perform(call.easy));
    if (r.ok()) {
      impl_->release_easy(call.easy);
      return r;
    }
    auto delay = impl_->retry_delay(call, r.error());
    Status rewound = delay ? impl_->rewind(call) : ok_status();
    if (!delay || !rewound.ok()) {
      impl_->release_easy(call.easy);
      return rewound.ok() ? given_up(r.error(), call.attempt) : rewound.error();
    }
    std::this_thread::sleep_for(*delay);
  }
}

void S3Http::Impl::run_many(CURLM* multi, std::span<const S3Request> reqs, size_t parallel,
                            std::vector<Result<S3Response>>& out) {
  std::vector<Call> calls(reqs.size());
  std::deque<size_t> ready;
  using Timer = std::pair<SteadyTime, size_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  for (size_t i = 0; i < reqs.size(); ++i) {
    calls[i].req = &reqs[i];
    calls[i].cfg = &cfg;
    ready.push_back(i);
  }
  size_t in_flight = 0;
  auto start = [&](size_t i) {
    Call& c = calls[i];
    if (!c.easy) c.easy = acquire_easy();
    if (!c.easy) {
      out[i] = make_error(ErrorCode::kInternal, "curl_easy_init failed");
      return;
    }
    ++c.attempt;
    c.prepare(url_base);
    curl_easy_setopt(c.easy, CURLOPT_PRIVATE, &c);
    curl_multi_add_handle(multi, c.easy);
    ++in_flight;
  };
  auto done = [&](Call& c, CURLcode rc) {
    curl_multi_remove_handle(multi, c.easy);
    --in_flight;
    size_t i = static_cast<size_t>(&c - calls.data());
    Result<S3Response> r = c.finish(rc);
    if (!r.ok()) {
      if (auto delay = retry_delay(c, r.error()); delay && rewind(c).ok()) {
        timers.push({std::chrono::steady_clock::now() + *delay, i});
        return;
      }
    }
    out[i] = r.ok() ? std::move(r) : given_up(r.error(), c.attempt);
    release_easy(c.easy);
    c.easy = nullptr;
  };
  while (!ready.empty() || !timers.empty() || in_flight > 0) {
    auto now = std::chrono::steady_clock::now();
    while (!timers.empty() && timers.top().first <= now) {
      ready.push_back(timers.top().second);
      timers.pop();
    }
    while (!ready.empty() && in_flight < parallel) {
      start(ready.front());
      ready.pop_front();
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Call* c = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &c);
      done(*c, msg->data.result);
    }
    int wait_ms = 1000;
    if (!timers.empty()) {
      auto until = std::chrono::duration_cast<milliseconds>(timers.top().first - now).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(until, 0, 1000));
    }
    if (in_flight > 0 || !timers.empty()) curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
}

std::vector<Result<S3Response>> S3Http::perform_many(std::span<const S3Request> requests,
                                                     size_t parallel) {
  std::vector<Result<S3Response>> out(
      requests.size(), Result<S3Response>(make_error(ErrorCode::kInternal, "not performed")));
  CURLM* multi = impl_->acquire_multi();
  if (!multi) {
    for (auto& r : out) r = make_error(ErrorCode::kInternal, "curl_multi_init failed");
    return out;
  }
  impl_->run_many(multi, requests, std::max<size_t>(1, parallel), out);
  impl_->release_multi(multi);
  return out;
}

}  // namespace depot
