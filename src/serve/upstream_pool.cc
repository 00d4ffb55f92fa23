#include "serve/upstream_pool.h"

namespace depot {

UpstreamPool::UpstreamPool(int workers, const DownloadOptions& options, Logger& logger) {
  if (workers < 1) workers = 1;
  for (int i = 0; i < workers; ++i) {
    clocks_.push_back(std::make_unique<SystemClock>());
    downloaders_.push_back(make_curl_downloader(options, *clocks_.back(), logger));
  }
  for (int i = 0; i < workers; ++i) {
    threads_.emplace_back([this, d = downloaders_[i].get()] { run_worker(d); });
  }
}

UpstreamPool::~UpstreamPool() {
  std::deque<Task> dropped;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (Task& task : dropped) {
    task.done(make_error(ErrorCode::kNetwork, task.request.url + ": server shutting down"));
  }
}

void UpstreamPool::submit(FetchRequest request, ByteSink* sink, DoneFn done) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queue_.push_back(Task{std::move(request), sink, std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(make_error(ErrorCode::kNetwork, request.url + ": server shutting down"));
}

void UpstreamPool::run_worker(Downloader* downloader) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    Result<FetchResult> result = downloader->fetch(task.request, *task.sink);
    task.done(result);
  }
}

}  // namespace depot
