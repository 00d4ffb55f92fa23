#pragma once
// UpstreamPool: worker threads that perform upstream fetches for the cache, each worker with its
// own curl downloader (its connections stay alive between fetches). Fetches run in submission
// order as workers free up. Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/byte_sink.h"
#include "core/clock.h"
#include "core/logger.h"
#include "transfer/downloader.h"

namespace depot {

class UpstreamPool {
 public:
  using DoneFn = std::function<void(const Result<FetchResult>&)>;

  UpstreamPool(int workers, const DownloadOptions& options, Logger& logger);
  // Finishes the fetches already running; queued ones complete with a kNetwork error.
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Queues one fetch. `sink` must stay valid until `done` has been called; `done` runs on a
  // worker thread, exactly once.
  void submit(FetchRequest request, ByteSink* sink, DoneFn done);

 private:
  struct Task {
    FetchRequest request;
    ByteSink* sink;
    DoneFn done;
  };
  void run_worker(Downloader* downloader);

  std::vector<std::unique_ptr<SystemClock>> clocks_;  // one per worker (jitter RNG)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stop_ = false;
  std::vector<std::unique_ptr<Downloader>> downloaders_;
  std::vector<std::thread> threads_;
};

}  // namespace depot
