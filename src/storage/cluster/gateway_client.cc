#include "storage/cluster/gateway_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "transfer/http_util.h"

namespace depot {

struct GatewayClient::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;
  ~Pool() {
    for (CURL* e : idle) curl_easy_cleanup(e);
  }
};

namespace {

constexpr size_t kMaxBody = 16 << 20;  // a list page of 1000 paths is ~200 KB
constexpr size_t kListLimit = 1000;

// An easy handle of the pool, reset, returned on destruction.
class Handle {
 public:
  explicit Handle(GatewayClient::Pool& pool) : pool_(pool) {
    static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)global_init;
    {
      std::lock_guard lock(pool_.mu);
      if (!pool_.idle.empty()) {
        easy_ = pool_.idle.back();
        pool_.idle.pop_back();
      }
    }
    if (easy_ == nullptr) easy_ = curl_easy_init();
    if (easy_ != nullptr) curl_easy_reset(easy_);
  }
  ~Handle() {
    if (easy_ == nullptr) return;
    std::lock_guard lock(pool_.mu);
    pool_.idle.push_back(easy_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() const { return easy_; }

 private:
  GatewayClient::Pool& pool_;
  CURL* easy_ = nullptr;
};

// The first line of an answer's body, printable and capped.
std::string one_line(std::string_view body) {
  std::string_view first = trim(body.substr(0, body.find('\n')), " \t\r");
  return quote_untrusted(first.substr(0, 300));
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sha = static_cast<std::string*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) sha->clear();  // a 100 Continue's headers are not the answer's
  if (header_is(line, "X-Depot-Sha256")) *sha = header_value(line, 14);
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* b = static_cast<std::string*>(user);
  size_t len = size * n;
  if (b->size() < kMaxBody) b->append(data, std::min(len, kMaxBody - b->size()));
  return len;
}

// One request to the gateway; lives on the calling thread for one call.
class Call {
 public:
  Call(GatewayClient::Pool& pool, const GatewayEndpoint& ep, std::string method, std::string url,
       bool write)
      : handle_(pool), method_(std::move(method)), url_(std::move(url)) {
    CURL* e = handle_.get();
    if (e == nullptr) return;
    errbuf_[0] = '\0';
    if (write && !ep.token.empty()) add("Authorization: Bearer " + ep.token);
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(ep.connect.count()));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>((ep.stall.count() + 999) / 1000)));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &sha256);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  }
  ~Call() { curl_slist_free_all(headers_); }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  CURL* easy() const { return handle_.get(); }
  void add(const std::string& line) {
    if (curl_slist* grown = curl_slist_append(headers_, line.c_str())) headers_ = grown;
  }

  // Runs the request: the transport failure, if any (status keeps what was answered).
  std::optional<Error> perform() {
    if (easy() == nullptr) return fail("curl_easy_init failed");
    curl_easy_setopt(easy(), CURLOPT_HTTPHEADER, headers_);
    CURLcode rc = curl_easy_perform(easy());
    curl_easy_getinfo(easy(), CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK) return std::nullopt;
    return fail(errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(rc), true);
  }

  // "METHOD URL: CAUSE", kIo.
  Error fail(std::string_view cause, bool transient = false) const {
    return make_error(ErrorCode::kIo, method_ + " " + url_ + ": " + std::string(cause), transient);
  }
  // The gateway answered `status` where it should not have.
  Error answer_error() const {
    if (status == 404) return make_error(ErrorCode::kNotFound, method_ + " " + url_ + ": 404 not found");
    std::string cause = std::to_string(status);
    if (std::string line = one_line(body); !line.empty()) cause += " " + line;
    if (status == 401 || status == 403) {
      cause += " (writing needs DEPOT_TOKEN set to a token of the gateway's auth file with the "
               "append or full role)";
    }
    return fail(cause, status == 429 || status >= 500);
  }

  long status = 0;
  std::string sha256;
  std::string body;

 private:
  Handle handle_;
  std::string method_, url_;
  curl_slist* headers_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE];
};

// Feeds a PUT's body from a file.
struct Upload {
  int fd;
  uint64_t size;
  uint64_t sent = 0;
  int err = 0;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, up->size - up->sent));
  if (want == 0) return 0;
  ssize_t got;
  do {
    got = ::pread(up->fd, buf, want, static_cast<off_t>(up->sent));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    up->err = got < 0 ? errno : EIO;
    return CURL_READFUNC_ABORT;
  }
  up->sent += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

// Takes a GET's body into a file, hashing it; an error answer's body is kept for its message.
struct Download {
  Call* call;
  int fd;
  Hasher hasher{digest_bit(DigestAlgo::kSha256)};
  int err = 0;
};

size_t on_download(char* data, size_t size, size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(d->call->easy(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return on_body(data, size, n, &d->call->body);
  d->hasher.update(std::string_view(data, len));
  for (size_t done = 0; done < len;) {
    ssize_t w = ::write(d->fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      d->err = errno;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  return len;
}

// "stored 1 of 2 copies (n3: 507 node full)" from a 202's JSON answer.
std::string copies_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("stored") || !j["stored"].is_array()) {
    return "fewer copies stored than the cluster wants (" + one_line(body) + ")";
  }
  std::string out = "only " + std::to_string(j["stored"].size()) + " of " +
                    (j.contains("copies") ? j["copies"].dump() : std::string("?")) +
                    " copies stored";
  std::string failed;
  if (j.contains("failed") && j["failed"].is_array()) {
    for (const auto& f : j["failed"]) {
      if (!f.is_object()) continue;
      failed += (failed.empty() ? "" : "; ") + f.value("error", std::string("?"));
    }
  }
  return out + (failed.empty() ? "" : " (" + quote_untrusted(failed) + ")");
}

}  // namespace

GatewayClient::GatewayClient(GatewayEndpoint endpoint)
    : ep_(std::move(endpoint)), pool_(std::make_unique<Pool>()) {}

GatewayClient::~GatewayClient() = default;

std::string GatewayClient::url(const std::string& path) const {
  std::string full = ep_.prefix.empty() ? path : ep_.prefix + "/" + path;
  return ep_.base + "/" + aws_uri_encode(full, /*keep_slash=*/true);
}

std::string GatewayClient::describe() const {
  return "cluster+" + ep_.base + (ep_.prefix.empty() ? "" : "/" + ep_.prefix);
}

Status GatewayClient::check() const {
  Call call(*pool_, ep_, "GET", ep_.base + "/_depot/v1/cluster/status", false);
  curl_easy_setopt(call.easy(), CURLOPT_TIMEOUT_MS, static_cast<long>(ep_.stall.count()));
  if (auto e = call.perform()) return *e;
  if (call.status != 200) return call.answer_error();
  auto j = nlohmann::json::parse(call.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("copies_wanted")) {
    return call.fail("not a depot cluster gateway (no copies_wanted in its status)");
  }
  return ok_status();
}

Result<std::optional<GatewayFile>> GatewayClient::head(const std::string& path) const {
  Call call(*pool_, ep_, "HEAD", url(path), false);
  curl_easy_setopt(call.easy(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(call.easy(), CURLOPT_TIMEOUT_MS, static_cast<long>(ep_.stall.count()));
  if (auto e = call.perform()) return *e;
  if (call.status == 404) return std::optional<GatewayFile>();
  if (call.status != 200) return call.answer_error();
  curl_off_t length = -1;
  curl_easy_getinfo(call.easy(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length < 0) return call.fail("answer without Content-Length");
  auto sha = normalize_hex_digest(DigestAlgo::kSha256, call.sha256);
  if (!sha.ok()) return call.fail("answer without a valid X-Depot-Sha256");
  return std::optional<GatewayFile>(GatewayFile{static_cast<uint64_t>(length), *sha, 0});
}

Status GatewayClient::get(const std::string& path, int fd) const {
  Call call(*pool_, ep_, "GET", url(path), false);
  Download d{&call, fd};
  curl_easy_setopt(call.easy(), CURLOPT_WRITEFUNCTION, on_download);
  curl_easy_setopt(call.easy(), CURLOPT_WRITEDATA, &d);
  auto e = call.perform();
  if (d.err != 0) return call.fail(std::string("writing the local copy: ") + std::strerror(d.err));
  if (e) return *e;  // a body shorter than its Content-Length is CURLE_PARTIAL_FILE
  if (call.status != 200) return call.answer_error();
  std::string got = d.hasher.finish().sha256;
  if (!call.sha256.empty() && ascii_lower(call.sha256) != got) {
    return call.fail("body has sha256 " + got + ", the gateway announced " +
                         quote_untrusted(call.sha256), true);
  }
  return ok_status();
}

Status GatewayClient::put(const std::string& path, int fd, uint64_t size,
                          const std::string& sha256) const {
  Call call(*pool_, ep_, "PUT", url(path), true);
  Upload up{fd, size};
  call.add("Expect: 100-continue");
  call.add("X-Depot-Sha256: " + sha256);
  curl_easy_setopt(call.easy(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(call.easy(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(call.easy(), CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(call.easy(), CURLOPT_READDATA, &up);
  auto e = call.perform();
  if (up.err != 0) return call.fail(std::string("reading the spooled file: ") + std::strerror(up.err));
  // A gateway that answers before taking the whole body may close the connection: its
  // answer is still the outcome.
  if (e && call.status < 200) return *e;
  if (call.status == 201) return ok_status();
  if (call.status == 202) return call.fail("202 " + copies_of(call.body), true);
  return call.answer_error();
}

Status GatewayClient::remove(const std::string& path) const {
  Call call(*pool_, ep_, "DELETE", url(path), true);
  curl_easy_setopt(call.easy(), CURLOPT_CUSTOMREQUEST, "DELETE");
  curl_easy_setopt(call.easy(), CURLOPT_TIMEOUT_MS, static_cast<long>(ep_.stall.count()));
  if (auto e = call.perform()) return *e;
  if (call.status == 200 || call.status == 404) return ok_status();
  return call.answer_error();
}

Status GatewayClient::list(
    const std::function<Status(const std::string&, const GatewayFile&)>& fn) const {
  const std::string below = ep_.prefix.empty() ? "" : ep_.prefix + "/";
  std::string after = ep_.prefix;  // every path below the prefix sorts after it
  for (;;) {
    std::string route = ep_.base + "/_depot/v1/cluster/list?limit=" + std::to_string(kListLimit);
    if (!after.empty()) route += "&after=" + aws_uri_encode(after, /*keep_slash=*/true);
    Call call(*pool_, ep_, "GET", route, false);
    if (auto e = call.perform()) return *e;
    if (call.status != 200) return call.answer_error();
    auto j = nlohmann::json::parse(call.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("paths") || !j["paths"].is_array()) {
      return call.fail("malformed list answer (no paths array)");
    }
    try {
      for (const auto& p : j["paths"]) {
        std::string path = p.at("path").get<std::string>();
        if (path <= after) return call.fail("list answer not ascending at " + quote_untrusted(path));
        after = path;
        if (!path.starts_with(below)) {
          if (path > below) return ok_status();  // past the prefix
          continue;  // "debian-x" sorts between "debian" and "debian/"
        }
        GatewayFile f{p.at("size").get<uint64_t>(), p.at("sha256").get<std::string>(),
                      p.at("copies").get<uint64_t>()};
        DEPOT_TRY(fn(path.substr(below.size()), f));
      }
      if (!j.value("more", false)) return ok_status();
    } catch (const std::exception& ex) {
      return call.fail(std::string("malformed list answer: ") + ex.what());
    }
  }
}

Result<GatewayEndpoint> parse_cluster_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      quote_untrusted(url) + ": " + why +
                          " (expected cluster+http://HOST:PORT/PREFIX or cluster+https://...)");
  };
  if (!is_cluster_url(url)) return bad("not a cluster URL");
  std::string rest = url.substr(std::string_view("cluster+").size());
  const size_t scheme_end = rest.find("://") + 3;
  const size_t slash = rest.find('/', scheme_end);
  GatewayEndpoint ep;
  ep.base = rest.substr(0, slash);
  std::string authority = ep.base.substr(scheme_end);
  if (authority.empty()) return bad("no host");
  if (authority.find_first_of("@?#") != std::string::npos) return bad("user info, query or fragment");
  if (slash == std::string::npos) return ep;
  std::string prefix = rest.substr(slash + 1);
  if (prefix.find_first_of("?#%") != std::string::npos) return bad("query, fragment or escape in the prefix");
  while (prefix.ends_with('/')) prefix.pop_back();
  if (!prefix.empty()) {
    auto p = RelPath::parse(prefix);
    if (!p.ok()) return bad("bad prefix: " + p.error().message);
    if (prefix.substr(0, prefix.find('/')) == "_depot") return bad("_depot/ is the gateway's API");
  }
  ep.prefix = prefix;
  return ep;
}

}  // namespace depot
