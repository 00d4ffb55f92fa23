#include "serve/upstream_pool.h"

namespace depot {
namespace {

bool cancelled(const FetchRequest& r) {
  return r.cancel && r.cancel->load(std::memory_order_relaxed);
}

}  // namespace

UpstreamPool::UpstreamPool(int workers, const DownloadOptions& options, Clock& clock,
                           Logger& logger)
    : clock_(clock) {
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
      queue_.push_back(Task{std::move(request), sink, std::move(done), clock_.now()});
      cv_.notify_one();
      return;
    }
  }
  done(make_error(ErrorCode::kNetwork, request.url + ": server shutting down"));
}

size_t UpstreamPool::sweep(Duration max_wait) {
  std::vector<Task> gone;
  size_t expired = 0;
  {
    std::lock_guard lock(mu_);
    SteadyTime now = clock_.now();
    for (auto it = queue_.begin(); it != queue_.end();) {
      bool too_old = now - it->queued_at > max_wait;
      if (!too_old && !cancelled(it->request)) {
        ++it;
        continue;
      }
      if (too_old && !cancelled(it->request)) ++expired;
      gone.push_back(std::move(*it));
      it = queue_.erase(it);
    }
  }
  for (Task& t : gone) {
    if (cancelled(t.request)) {
      t.done(make_error(ErrorCode::kRefused, t.request.url + ": cancelled"));
    } else {
      t.done(make_error(ErrorCode::kRefused,
                        t.request.url + ": all upstream workers busy; not started in time",
                        /*transient=*/true));
    }
  }
  return expired;
}

size_t UpstreamPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
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
    // A cancelled request ends in the downloader at once ("cancelled"), without a connection.
    Result<FetchResult> result = downloader->fetch(task.request, *task.sink);
    task.done(result);
  }
}

}  // namespace depot
