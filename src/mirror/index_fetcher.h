#pragma once
// IndexFetcher: the index downloads of one mirror run (SnapshotContext::fetch_index and
// fetch_indexes). Each file is fetched conditionally against the committed copy's validators
// into a readable write transaction on the target, which the FetchedIndex's content owns until
// the run commits it. Not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mirror/state_db.h"
#include "sources/source.h"
#include "storage/target.h"
#include "transfer/downloader.h"

namespace depot {

class IndexFetcher {
 public:
  // The record of a committed file still intact on disk, or null.
  using RecordFn = std::function<const FileRecord*(const RelPath&)>;

  IndexFetcher(Target& target, Downloader& downloader, uint64_t max_index_size, RecordFn record)
      : target_(target),
        downloader_(downloader),
        max_index_size_(max_index_size),
        record_(std::move(record)) {}

  IndexResult fetch(const IndexRequest& request);
  // Every request on the downloader's multi loop at once, at most `batch` transfers pending.
  std::vector<IndexResult> fetch_all(std::span<const IndexRequest> requests, size_t batch = 512);

 private:
  // A sink opening its write transaction at the first byte, so that a 304 (the common answer
  // of a re-run) creates no file. Passes every byte to the request's observer too.
  class LazyTxn final : public ByteSink {
   public:
    LazyTxn(Target& target, const RelPath& path, ByteSink* observer)
        : target_(target), path_(path), observer_(observer) {}
    Status write(std::span<const std::byte> data) override;
    Status reset() override;
    uint64_t bytes_written() const override { return txn_ ? txn_->bytes_written() : 0; }
    // The transaction, begun now if no byte came (an empty body).
    Result<std::unique_ptr<WriteTxn>> take();

   private:
    Target& target_;
    const RelPath& path_;
    ByteSink* observer_;
    std::unique_ptr<WriteTxn> txn_;
  };

  // What one request needs before and after its download.
  struct Pending {
    const IndexRequest* request = nullptr;
    const FileRecord* record = nullptr;
    FetchRequest fetch;
    std::unique_ptr<LazyTxn> sink;
  };
  // Fills `p`; returns the answer when no download is needed (or the transaction failed).
  std::optional<IndexResult> prepare(const IndexRequest& request, Pending& p);
  IndexResult finish(Pending& p, const Result<FetchResult>& res);

  Target& target_;
  Downloader& downloader_;
  uint64_t max_index_size_;
  RecordFn record_;
};

}  // namespace depot
