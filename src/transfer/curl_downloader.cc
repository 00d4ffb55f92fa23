// Downloader on one libcurl multi handle, driven by curl_multi_poll on the calling thread.
// Easy handles are pooled and reused, so connections stay alive across jobs and runs. Each host
// (scheme://host:port) has a ConcurrencyController; only as many easy handles as it allows are
// added to the multi handle, the rest wait in the host's queue. Retries wait in a timer queue
// that the loop's poll timeout honours, so they never block other transfers.

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "transfer/concurrency.h"
#include "transfer/curl_sigv4.h"
#include "transfer/curl_events.h"
#include "transfer/downloader.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kProgressInterval{200};
constexpr milliseconds kMaxPollWait{1000};
constexpr long kBufferSize = 128 * 1024;
constexpr long kMaxRedirects = 10;

Error classify_curl(CURLcode rc, const char* errbuf, const std::string& url) {
  std::string message = url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make_error(ErrorCode::kInvalidArgument, std::move(message));
    case CURLE_TOO_MANY_REDIRECTS:
      return make_error(ErrorCode::kHttp, std::move(message));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED:
      return make_error(ErrorCode::kNetwork, std::move(message));
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
      return make_error(ErrorCode::kInternal, std::move(message));
    case CURLE_PARTIAL_FILE:
      return make_error(ErrorCode::kSizeMismatch,
                        url + ": truncated body (" + (errbuf[0] ? errbuf : "partial file") + ")",
                        /*transient=*/true);
    default:  // resets, refusals, timeouts, DNS, TLS handshakes, HTTP/2 stream errors
      return make_error(ErrorCode::kNetwork, std::move(message), /*transient=*/true);
  }
}

struct Host {
  Host(std::string k, Clock& clock, const DownloadOptions& o)
      : key(std::move(k)),
        ctl(clock, o.initial_concurrency, 1, o.max_concurrency, o.fixed_concurrency) {}
  std::string key;
  ConcurrencyController ctl;
  int logged_limit = 0;
  int active = 0;
  std::deque<size_t> ready;  // job indices waiting for a slot
};

struct JobState {
  Host* host = nullptr;
  int attempts = 0;
};

enum class Abort { kNone, kTooLong, kSink, kCancelled };

class CurlDownloader;

// One pooled easy handle and the state of the attempt it is running.
struct Transfer {
  CurlDownloader* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
  std::array<std::unique_ptr<Hasher>, 1u << kDigestAlgoCount> hashers;  // by algorithm mask

  // Per attempt.
  size_t job = 0;
  DownloadJob* dj = nullptr;
  Host* host = nullptr;
  Hasher* hasher = nullptr;
  SteadyTime started{};
  uint64_t max_body = std::numeric_limits<uint64_t>::max();
  uint64_t body = 0;
  bool status_known = false;
  bool body_wanted = false;  // final 2xx response: bytes go to the sink
  Abort abort = Abort::kNone;
  Error sink_error;
  std::string etag, last_modified, retry_after;
  std::string url;  // as sent (signed URLs re-encoded); curl keeps a pointer to it
};

class CurlDownloader final : public Downloader {
 public:
  CurlDownloader(const DownloadOptions& options, Clock& clock, Logger& logger);
  ~CurlDownloader() override;

  void run(std::span<DownloadJob> jobs, const DoneFn& on_done,
           const ProgressFn& on_progress) override;

  // libcurl callbacks.
  static size_t on_write(char* data, size_t size, size_t n, void* user);
  static size_t on_header(char* data, size_t size, size_t n, void* user);
  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

 private:
  Transfer* acquire();
  void release(Transfer* t);
  void start_ready();
  void start(size_t index, Host* host);
  void complete(Transfer* t, CURLcode rc);
  void finish(size_t index, const Result<FetchResult>& result);
  void fail_or_retry(size_t index, Error error, std::optional<milliseconds> retry_after);
  int poll_timeout_ms(SteadyTime now) const;
  void report_progress();
  void abort_all();

  DownloadOptions opts_;
  Clock& clock_;
  Logger& log_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  std::unique_ptr<CurlEvents> events_;
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<Transfer*> idle_;
  std::unordered_map<std::string, std::unique_ptr<Host>> hosts_;  // kept across runs

  // State of the current run().
  std::span<DownloadJob> jobs_;
  const DoneFn* on_done_ = nullptr;
  const ProgressFn* on_progress_ = nullptr;
  std::vector<JobState> states_;
  std::vector<Host*> run_hosts_;
  using Timer = std::pair<SteadyTime, size_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<Transfer*> in_flight_;
  DownloadProgress progress_;
  SteadyTime next_progress_{};
};

CurlDownloader::CurlDownloader(const DownloadOptions& options, Clock& clock, Logger& logger)
    : opts_(options), clock_(clock), log_(logger) {
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)global_init;
  multi_ = curl_multi_init();
  share_ = curl_share_init();
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  long per_host =
      std::max(1, opts_.fixed_concurrency > 0 ? opts_.fixed_concurrency : opts_.max_concurrency);
  long total = std::max(64L, per_host * 4);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, total);
  events_ = std::make_unique<CurlEvents>(multi_);
}

CurlDownloader::~CurlDownloader() {
  abort_all();
  events_.reset();
  for (auto& t : transfers_) {
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
  }
  curl_multi_cleanup(multi_);
  curl_share_cleanup(share_);
}

Transfer* CurlDownloader::acquire() {
  if (!idle_.empty()) {
    Transfer* t = idle_.back();
    idle_.pop_back();
    return t;
  }
  auto t = std::make_unique<Transfer>();
  t->owner = this;
  CURL* e = t->easy = curl_easy_init();
  if (!e) return nullptr;
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_SHARE, share_);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlDownloader::on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlDownloader::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &CurlDownloader::on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferSize);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, opts_.low_speed_bytes);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts_.low_speed_time.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, opts_.user_agent.c_str());
  // CURLOPT_ACCEPT_ENCODING stays unset: digests are over the raw bytes.
  transfers_.push_back(std::move(t));
  return transfers_.back().get();
}

void CurlDownloader::release(Transfer* t) {
  if (t->headers) {
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(t->headers);
    t->headers = nullptr;
  }
  t->dj = nullptr;
  t->host = nullptr;
  idle_.push_back(t);
}

void CurlDownloader::start(size_t index, Host* host) {
  DownloadJob& job = jobs_[index];
  const FetchRequest& req = job.request;
  JobState& st = states_[index];
  ++st.attempts;
  for (const std::string* v : {&req.if_none_match, &req.if_modified_since, &req.accept}) {
    if (v->find_first_of("\r\n") != std::string::npos) {
      finish(index, make_error(ErrorCode::kInvalidArgument,
                               req.url + ": line break in a request header"));
      return;
    }
  }
  if (req.cancel && req.cancel->load(std::memory_order_relaxed)) {
    finish(index, make_error(ErrorCode::kRefused, req.url + ": cancelled"));
    return;
  }
  Transfer* t = acquire();
  if (!t) {
    finish(index, make_error(ErrorCode::kInternal, req.url + ": curl_easy_init failed"));
    return;
  }
  t->job = index;
  t->dj = &job;
  t->host = host;
  unsigned mask = Hasher::mask_for(req.expected);
  auto& hasher = t->hashers[mask];
  if (!hasher) hasher = std::make_unique<Hasher>(mask);
  hasher->reset();
  t->hasher = hasher.get();
  t->started = clock_.now();
  t->max_body = req.expected_size.value_or(req.max_size.value_or(opts_.max_unknown_size));
  t->body = 0;
  t->status_known = false;
  t->body_wanted = false;
  t->abort = Abort::kNone;
  t->errbuf[0] = '\0';
  t->etag.clear();
  t->last_modified.clear();
  t->retry_after.clear();
  if (!req.if_none_match.empty()) {
    t->headers = curl_slist_append(t->headers, ("If-None-Match: " + req.if_none_match).c_str());
  }
  if (!req.if_modified_since.empty()) {
    t->headers =
        curl_slist_append(t->headers, ("If-Modified-Since: " + req.if_modified_since).c_str());
  }
  if (!req.accept.empty()) {
    t->headers = curl_slist_append(t->headers, ("Accept: " + req.accept).c_str());
  }
  CURL* e = t->easy;
  const SigV4Scope* scope = find_sigv4_scope(opts_.sigv4, req.url);
  t->headers = apply_sigv4(e, scope, t->headers);
  t->url = scope ? sigv4_canonical_url(req.url) : req.url;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, req.cancel ? 0L : 1L);
  // Waiting to multiplex only pays off where HTTP/2 may be negotiated (TLS).
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, req.url.starts_with("https:") ? 1L : 0L);
  CURLMcode mc = curl_multi_add_handle(multi_, e);
  if (mc != CURLM_OK) {
    release(t);
    finish(index, make_error(ErrorCode::kInternal,
                             req.url + ": curl_multi_add_handle: " + curl_multi_strerror(mc)));
    return;
  }
  ++host->active;
  ++progress_.active;
  in_flight_.push_back(t);
}

void CurlDownloader::start_ready() {
  for (Host* h : run_hosts_) {
    if (h->ctl.limit() != h->logged_limit) {
      h->logged_limit = h->ctl.limit();
      if (log_.enabled(LogLevel::kDebug)) {
        log_.debug("host_concurrency", {{"host", h->key}, {"limit", h->logged_limit}});
      }
    }
    while (!h->ready.empty() && h->ctl.may_start(h->active)) {
      size_t index = h->ready.front();
      h->ready.pop_front();
      start(index, h);
    }
    if (!h->ready.empty() && h->active >= h->ctl.limit()) h->ctl.on_limited();
  }
}

size_t CurlDownloader::on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 1xx): start over
    t->status_known = false;
    t->etag.clear();
    t->last_modified.clear();
    t->retry_after.clear();
  } else if (header_is(line, "etag")) {
    t->etag = header_value(line, 4);
  } else if (header_is(line, "last-modified")) {
    t->last_modified = header_value(line, 13);
  } else if (header_is(line, "retry-after")) {
    t->retry_after = header_value(line, 11);
  }
  return len;
}

int CurlDownloader::on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  const auto& cancel = t->dj->request.cancel;
  if (cancel && cancel->load(std::memory_order_relaxed)) {
    t->abort = Abort::kCancelled;
    return 1;  // non-zero aborts the transfer
  }
  return 0;
}

size_t CurlDownloader::on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->owner->progress_.bytes_done += len;
  t->host->ctl.on_bytes(len);
  if (!t->status_known) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->status_known = true;
    t->body_wanted = status >= 200 && status < 300;
    if (t->body_wanted && t->dj->request.on_start) {
      ResponseStart start;
      start.http_status = status;
      curl_off_t length = -1;
      curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
      start.content_length = length;
      const char* type = nullptr;
      curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
      if (type) start.content_type = type;
      start.etag = t->etag;
      start.last_modified = t->last_modified;
      t->dj->request.on_start(start);
    }
  }
  if (!t->body_wanted) return len;  // an error page: read to keep the connection, discard
  if (len > t->max_body - t->body) {
    t->abort = Abort::kTooLong;
    return 0;  // any short count aborts the transfer
  }
  auto bytes = std::as_bytes(std::span<const char>(data, len));
  t->hasher->update(bytes);
  if (Status s = t->dj->sink->write(bytes); !s.ok()) {
    t->abort = Abort::kSink;
    t->sink_error = s.error();
    return 0;
  }
  t->body += len;
  return len;
}

void CurlDownloader::complete(Transfer* t, CURLcode rc) {
  curl_multi_remove_handle(multi_, t->easy);
  in_flight_.erase(std::find(in_flight_.begin(), in_flight_.end(), t));
  Host* host = t->host;
  --host->active;
  --progress_.active;
  size_t index = t->job;
  const FetchRequest& req = t->dj->request;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);

  std::optional<Error> error;
  std::optional<milliseconds> retry_after;
  if (t->abort == Abort::kCancelled) {
    error = make_error(ErrorCode::kRefused, req.url + ": cancelled");
  } else if (t->abort == Abort::kSink) {
    error = make_error(ErrorCode::kIo, req.url + ": " + t->sink_error.message);
  } else if (t->abort == Abort::kTooLong && req.expected_size) {
    error = make_error(ErrorCode::kSizeMismatch,
                       req.url + ": body longer than the expected " +
                           std::to_string(*req.expected_size) + " bytes",
                       /*transient=*/true);
  } else if (t->abort == Abort::kTooLong) {
    error = make_error(ErrorCode::kSizeMismatch, req.url + ": body larger than the limit of " +
                                                     std::to_string(t->max_body) + " bytes");
  } else if (rc != CURLE_OK) {
    error = classify_curl(rc, t->errbuf, req.url);
    // No request was ever sent (DNS, connect or TLS handshake failed): the host is unreachable.
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    if (error->code == ErrorCode::kNetwork && pretransfer_us == 0) {
      error->code = ErrorCode::kUnreachable;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) host->ctl.on_overload();
  } else if ((error = classify_http_status(status, req.url))) {
    if (status == 429 || status == 503) {
      if (!t->retry_after.empty()) retry_after = parse_retry_after(t->retry_after, clock_.wall());
      host->ctl.on_overload(retry_after.value_or(milliseconds(0)));
    }
  } else if (status < 200) {
    error = make_error(ErrorCode::kNetwork,
                       req.url + ": no HTTP response (status " + std::to_string(status) + ")",
                       /*transient=*/true);
  }

  FetchResult result;
  const Duration elapsed = clock_.now() - t->started;
  if (!error) {
    result.http_status = status;
    result.not_modified = status == 304;
    result.attempts = states_[index].attempts;
    result.etag = std::move(t->etag);
    result.last_modified = std::move(t->last_modified);
    if (!result.not_modified) {
      result.bytes = t->body;
      result.digests = t->hasher->finish();
      if (req.expected_size && t->body != *req.expected_size) {
        error = make_error(ErrorCode::kSizeMismatch,
                           req.url + ": size mismatch: received " + std::to_string(t->body) +
                               " bytes, expected " + std::to_string(*req.expected_size),
                           /*transient=*/true);
      } else if (Status v = req.expected.verify(result.digests, req.url); !v.ok()) {
        error = v.error();
      }
    }
  }
  release(t);
  if (error) {
    fail_or_retry(index, std::move(*error), retry_after);
  } else {
    host->ctl.on_success(result.bytes, elapsed);
    finish(index, result);
  }
}

void CurlDownloader::fail_or_retry(size_t index, Error error,
                                   std::optional<milliseconds> retry_after) {
  JobState& st = states_[index];
  auto delay = opts_.retry.next_delay(st.attempts, error, retry_after, clock_);
  if (delay) {
    if (Status s = jobs_[index].sink->reset(); !s.ok()) {
      finish(index,
             make_error(ErrorCode::kIo, jobs_[index].request.url + ": " + s.error().message +
                                            " (while retrying after " + error.message + ")"));
      return;
    }
    if (log_.enabled(LogLevel::kDebug)) {
      log_.debug("fetch_retry", {{"error", error.message},
                                 {"attempt", st.attempts},
                                 {"delay_ms", static_cast<int64_t>(delay->count())}});
    }
    timers_.emplace(clock_.now() + *delay, index);
    return;
  }
  if (st.attempts > 1) error.message += " (after " + std::to_string(st.attempts) + " attempts)";
  if (retry_after && *retry_after > opts_.retry.max_retry_after) {
    error.message +=
        " (Retry-After " + std::to_string(retry_after->count() / 1000) + " s exceeds the limit)";
  }
  finish(index, error);
}

void CurlDownloader::finish(size_t index, const Result<FetchResult>& result) {
  ++progress_.files_done;
  (*on_done_)(index, result);
}

int CurlDownloader::poll_timeout_ms(SteadyTime now) const {
  Duration wait = kMaxPollWait;
  if (!timers_.empty()) wait = std::min(wait, timers_.top().first - now);
  for (const Host* h : run_hosts_) {
    if (!h->ready.empty() && h->ctl.paused_until() > now) {
      wait = std::min(wait, h->ctl.paused_until() - now);
    }
  }
  if (on_progress_ && *on_progress_) wait = std::min(wait, next_progress_ - now);
  if (wait <= Duration::zero()) return 0;
  return static_cast<int>(std::ceil(std::chrono::duration<double, std::milli>(wait).count()));
}

void CurlDownloader::report_progress() {
  if (!on_progress_ || !*on_progress_) return;
  SteadyTime now = clock_.now();
  if (now < next_progress_) return;
  next_progress_ = now + kProgressInterval;
  (*on_progress_)(progress_);
}

void CurlDownloader::abort_all() {
  for (Transfer* t : in_flight_) {
    curl_multi_remove_handle(multi_, t->easy);
    --t->host->active;
    release(t);
  }
  in_flight_.clear();
  for (Host* h : run_hosts_) h->ready.clear();
  timers_ = {};
  progress_.active = 0;
}

void CurlDownloader::run(std::span<DownloadJob> jobs, const DoneFn& on_done,
                         const ProgressFn& on_progress) {
  jobs_ = jobs;
  on_done_ = &on_done;
  on_progress_ = &on_progress;
  states_.assign(jobs.size(), JobState{});
  run_hosts_.clear();
  progress_ = DownloadProgress{};
  progress_.files_total = jobs.size();
  next_progress_ = clock_.now() + kProgressInterval;
  // Leaves no transfer behind if a callback throws.
  struct Cleanup {
    CurlDownloader* d;
    ~Cleanup() { d->abort_all(); }
  } cleanup{this};

  if (Status s = events_->status(); !s.ok()) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      finish(i, make_error(s.error().code, jobs[i].request.url + ": " + s.error().message));
    }
    return;
  }
  std::string last_prefix, key;
  Host* host = nullptr;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const FetchRequest& req = jobs[i].request;
    if (req.expected_size) progress_.bytes_expected += *req.expected_size;
    if (!jobs[i].sink) {
      finish(i, make_error(ErrorCode::kInvalidArgument, req.url + ": no sink"));
      continue;
    }
    // Most jobs share their host with the previous one: skip the parse then.
    if (!host || last_prefix.empty() || !req.url.starts_with(last_prefix) ||
        req.url.size() == last_prefix.size() || req.url[last_prefix.size()] != '/') {
      key = host_key(req.url);
      if (key.empty()) {
        finish(i, make_error(ErrorCode::kInvalidArgument, req.url + ": bad URL"));
        host = nullptr;
        continue;
      }
      auto& slot = hosts_[key];
      if (!slot) slot = std::make_unique<Host>(key, clock_, opts_);
      host = slot.get();
      if (std::find(run_hosts_.begin(), run_hosts_.end(), host) == run_hosts_.end()) {
        run_hosts_.push_back(host);
      }
      size_t sep = req.url.find("://");
      size_t end = sep == std::string::npos ? 0 : req.url.find_first_of("/?#", sep + 3);
      last_prefix = (sep == std::string::npos || end == std::string::npos || req.url[end] != '/')
                        ? ""
                        : req.url.substr(0, end);
    }
    states_[i].host = host;
    host->ready.push_back(i);
  }

  while (progress_.files_done < jobs.size()) {
    SteadyTime now = clock_.now();
    while (!timers_.empty() && timers_.top().first <= now) {
      size_t index = timers_.top().second;
      timers_.pop();
      states_[index].host->ready.push_front(index);  // retries go first
    }
    start_ready();
    events_->wait_and_act(milliseconds(poll_timeout_ms(clock_.now())));
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
      complete(t, rc);
    }
    report_progress();
  }
}

}  // namespace

std::unique_ptr<Downloader> make_curl_downloader(const DownloadOptions& options, Clock& clock,
                                                 Logger& logger) {
  return std::make_unique<CurlDownloader>(options, clock, logger);
}

}  // namespace depot
