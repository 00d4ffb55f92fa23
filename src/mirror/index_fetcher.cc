#include "mirror/index_fetcher.h"

#include <algorithm>

#include "mirror/index_content.h"

namespace depot {
namespace {

FetchedIndex committed_copy(Target& target, const RelPath& path, const FileRecord& rec) {
  FetchedIndex out;
  out.content = committed_content(target, path);
  out.unchanged = true;
  out.size = rec.size;
  out.digests = rec.digests;
  out.etag = rec.etag;
  out.last_modified = rec.last_modified;
  return out;
}

}  // namespace

Status IndexFetcher::LazyTxn::write(std::span<const std::byte> data) {
  if (!txn_) {
    DEPOT_ASSIGN_OR_RETURN(txn_, target_.begin_write(path_, WriteHints{.readable = true}));
  }
  if (observer_) DEPOT_TRY(observer_->write(data));
  return txn_->write(data);
}

Status IndexFetcher::LazyTxn::reset() {
  if (observer_) DEPOT_TRY(observer_->reset());
  return txn_ ? txn_->reset() : ok_status();
}

Result<std::unique_ptr<WriteTxn>> IndexFetcher::LazyTxn::take() {
  if (!txn_) {
    DEPOT_ASSIGN_OR_RETURN(txn_, target_.begin_write(path_, WriteHints{.readable = true}));
  }
  return std::move(txn_);
}

std::optional<IndexResult> IndexFetcher::prepare(const IndexRequest& r, Pending& p) {
  p.request = &r;
  p.fetch.url = r.url;
  p.fetch.accept = r.accept;
  p.fetch.expected = r.expected;
  p.fetch.expected_size = r.size;
  p.fetch.max_size = max_index_size_;  // index files of undeclared size
  p.record = record_(r.path);
  const FileRecord* rec = p.record;
  if (rec) {
    p.fetch.if_none_match = rec->etag;
    p.fetch.if_modified_since = rec->last_modified;
  }
  if (rec && !r.expected.empty() && r.expected.matches(rec->digests) &&
      (!r.size || *r.size == rec->size)) {
    // The signed root already names exactly the committed copy: nothing to ask upstream.
    return IndexResult(std::optional<FetchedIndex>(committed_copy(target_, r.path, *rec)));
  }
  if (rec && !r.expected.empty() && !r.expected.matches(rec->digests)) {
    p.fetch.if_none_match.clear();  // the committed copy is known to be outdated
    p.fetch.if_modified_since.clear();
  }
  p.sink = std::make_unique<LazyTxn>(target_, r.path, r.observer);
  return std::nullopt;
}

IndexResult IndexFetcher::finish(Pending& p, const Result<FetchResult>& res) {
  const IndexRequest& r = *p.request;
  if (!res.ok()) {
    if (r.optional && res.error().code == ErrorCode::kNotFound) {
      return std::optional<FetchedIndex>();
    }
    return res.error();
  }
  if (res->not_modified && p.record) {
    FetchedIndex out = committed_copy(target_, r.path, *p.record);
    if (!res->etag.empty()) out.etag = res->etag;
    if (!res->last_modified.empty()) out.last_modified = res->last_modified;
    return std::optional<FetchedIndex>(std::move(out));
  }
  if (res->not_modified) {
    return make_error(ErrorCode::kHttp, r.url + ": 304 Not Modified to an unconditional request",
                      true);
  }
  DEPOT_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> txn, p.sink->take());
  DEPOT_TRY(txn->close());
  FetchedIndex out;
  out.etag = res->etag;
  out.last_modified = res->last_modified;
  out.size = res->bytes;
  out.digests = res->digests;
  // Same bytes as the committed copy (a server without validators): nothing to rewrite.
  out.unchanged = p.record && p.record->size == out.size && p.record->digests.matches(out.digests);
  out.content = pending_content(target_, std::move(txn));
  return std::optional<FetchedIndex>(std::move(out));
}

IndexResult IndexFetcher::fetch(const IndexRequest& request) {
  Pending p;
  if (auto done = prepare(request, p)) return std::move(*done);
  return finish(p, downloader_.fetch(p.fetch, *p.sink));
}

std::vector<IndexResult> IndexFetcher::fetch_all(std::span<const IndexRequest> requests,
                                                 size_t batch) {
  std::vector<std::optional<IndexResult>> results(requests.size());
  for (size_t first = 0; first < requests.size(); first += batch) {
    const size_t last = std::min(requests.size(), first + batch);
    std::vector<Pending> pending(last - first);
    std::vector<DownloadJob> jobs;
    std::vector<size_t> job_of;  // job -> position in `pending`
    for (size_t i = first; i < last; ++i) {
      Pending& p = pending[i - first];
      if (auto done = prepare(requests[i], p)) {
        results[i] = std::move(*done);
        continue;
      }
      jobs.push_back(DownloadJob{p.fetch, p.sink.get()});
      job_of.push_back(i - first);
    }
    downloader_.run(jobs, [&](size_t k, const Result<FetchResult>& res) {
      const size_t j = job_of[k];
      results[first + j] = finish(pending[j], res);
    });
  }
  std::vector<IndexResult> out;
  out.reserve(results.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

}  // namespace depot
