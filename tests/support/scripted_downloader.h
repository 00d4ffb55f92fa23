#pragma once
// A Downloader answering from a script instead of the network, for engine tests. Each URL has a
// list of replies, served in turn (the last one repeats); a URL without replies answers 404.
// Size, digests, conditional requests and retries behave as the curl downloader's do (same
// error codes and wording for what tests look at), without sleeping between attempts.
// The Script is thread-safe and shared by every downloader made from it.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "transfer/downloader.h"
#include "transfer/retry_policy.h"

namespace depot::testing {

struct ScriptedReply {
  long status = 200;
  std::string body;
  std::string etag;  // sent as ETag; a request whose If-None-Match equals it gets 304
  size_t piece = 0;  // > 0: the body reaches the sink in writes of this size; 0: one write
  // Set: the connection breaks (transient kNetwork) after this many bytes of the body.
  std::optional<size_t> cut_after = {};
};

class Script {
 public:
  // Replaces the replies for `url`.
  void route(const std::string& url, std::vector<ScriptedReply> replies) {
    std::lock_guard lock(mu_);
    routes_[url] = {std::move(replies), 0};
  }
  void route(const std::string& url, std::string body) { route(url, {{200, std::move(body), ""}}); }
  // Requests made for `url`, every attempt counted.
  int hits(const std::string& url) const {
    std::lock_guard lock(mu_);
    auto it = hits_.find(url);
    return it == hits_.end() ? 0 : it->second;
  }
  ScriptedReply next(const FetchRequest& req) {
    std::lock_guard lock(mu_);
    ++hits_[req.url];
    auto it = routes_.find(req.url);
    if (it == routes_.end() || it->second.replies.empty()) return {404, "not found", ""};
    Route& r = it->second;
    ScriptedReply reply = r.replies[std::min(r.next, r.replies.size() - 1)];
    ++r.next;
    if (reply.status == 200 && !reply.etag.empty() && req.if_none_match == reply.etag) {
      return {304, "", reply.etag};
    }
    return reply;
  }

  // A factory for MirrorParts: every downloader it makes answers from this script.
  DownloaderFactory factory();

 private:
  struct Route {
    std::vector<ScriptedReply> replies;
    size_t next = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> hits_;
};

class ScriptedDownloader final : public Downloader {
 public:
  ScriptedDownloader(Script& script, DownloadOptions options)
      : script_(script), options_(std::move(options)) {}

  void run(std::span<DownloadJob> jobs, const DoneFn& on_done, const ProgressFn&) override {
    for (size_t i = 0; i < jobs.size(); ++i) on_done(i, fetch_one(jobs[i]));
  }

 private:
  Result<FetchResult> fetch_one(DownloadJob& job) {
    Result<FetchResult> out = make_error(ErrorCode::kInternal, job.request.url + ": not tried");
    for (int attempt = 1; attempt <= std::max(1, options_.retry.max_attempts); ++attempt) {
      if (attempt > 1) {
        if (Status s = job.sink->reset(); !s.ok()) return s.error();
      }
      out = attempt_one(job);
      if (out.ok()) {
        out->attempts = attempt;
        return out;
      }
      if (!out.error().transient) return out;
    }
    return out;
  }

  Result<FetchResult> attempt_one(DownloadJob& job) {
    const FetchRequest& req = job.request;
    ScriptedReply reply = script_.next(req);
    if (auto e = classify_http_status(reply.status, req.url)) return *e;
    FetchResult result;
    result.http_status = reply.status;
    result.etag = reply.etag;
    if (reply.status == 304) {
      result.not_modified = true;
      return result;
    }
    const uint64_t limit = req.expected_size.value_or(req.max_size.value_or(options_.max_unknown_size));
    if (reply.body.size() > limit && !req.expected_size) {
      return make_error(ErrorCode::kSizeMismatch,
                        req.url + ": body larger than the limit of " + std::to_string(limit) + " bytes");
    }
    if (req.on_start && !reply.body.empty()) {
      req.on_start(ResponseStart{reply.status, static_cast<int64_t>(reply.body.size()), "", reply.etag, ""});
    }
    const size_t end = std::min(reply.cut_after.value_or(reply.body.size()), reply.body.size());
    const size_t piece = reply.piece > 0 ? reply.piece : std::max<size_t>(end, 1);
    size_t at = 0;
    do {  // an empty body is one empty write
      const size_t n = std::min(piece, end - at);
      DEPOT_TRY(job.sink->write(std::as_bytes(std::span(reply.body.data() + at, n))));
      at += n;
    } while (at < end);
    if (reply.cut_after) {
      return make_error(ErrorCode::kNetwork,
                        req.url + ": connection reset after " + std::to_string(end) + " bytes",
                        /*transient=*/true);
    }
    Hasher h(Hasher::mask_for(req.expected) | digest_bit(DigestAlgo::kSha256));
    h.update(reply.body);
    result.digests = h.finish();
    result.bytes = reply.body.size();
    if (req.expected_size && result.bytes != *req.expected_size) {
      return make_error(ErrorCode::kSizeMismatch,
                        req.url + ": size mismatch: received " + std::to_string(result.bytes) +
                            " bytes, expected " + std::to_string(*req.expected_size),
                        /*transient=*/true);
    }
    DEPOT_TRY(req.expected.verify(result.digests, req.url));
    return result;
  }

  Script& script_;
  DownloadOptions options_;
};

inline DownloaderFactory Script::factory() {
  return [this](const DownloadOptions& options) -> std::unique_ptr<Downloader> {
    return std::make_unique<ScriptedDownloader>(*this, options);
  };
}

}  // namespace depot::testing
