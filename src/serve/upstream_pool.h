#pragma once
// UpstreamPool: worker threads that perform upstream fetches for the cache, each worker with its
// own curl downloader (its connections stay alive between fetches). Fetches run in submission
// order as workers free up; a fetch that waited too long for a worker, or was cancelled while
// queued, is failed by sweep() without being started. Thread-safe.

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

  // `clock` times the queue (sweep); it must outlive the pool.
  UpstreamPool(int workers, const DownloadOptions& options, Clock& clock, Logger& logger);
  // Finishes the fetches already running; queued ones complete with a kNetwork error.
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Queues one fetch. `sink` must stay valid until `done` has been called; `done` runs exactly
  // once, on a worker thread or on the thread calling sweep() or the destructor.
  void submit(FetchRequest request, ByteSink* sink, DoneFn done);

  // Fails every queued fetch whose request was cancelled (kRefused "cancelled") or that has
  // waited longer than `max_wait` for a worker (kRefused, transient: "all upstream workers
  // busy"). Returns how many waited too long.
  size_t sweep(Duration max_wait);

  size_t queued() const;  // fetches waiting for a worker
  int workers() const { return static_cast<int>(threads_.size()); }

 private:
  struct Task {
    FetchRequest request;
    ByteSink* sink;
    DoneFn done;
    SteadyTime queued_at;
  };
  void run_worker(Downloader* downloader);

  Clock& clock_;
  std::vector<std::unique_ptr<SystemClock>> clocks_;  // one per worker (jitter RNG)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stop_ = false;
  std::vector<std::unique_ptr<Downloader>> downloaders_;
  std::vector<std::thread> threads_;
};

}  // namespace depot
