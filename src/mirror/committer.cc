#include "mirror/committer.h"

namespace depot {

BatchCommitter::BatchCommitter(Target& target, StateDb& db, Logger& logger, Clock& clock,
                               BatchLimits limits)
    : target_(target),
      db_(db),
      logger_(logger),
      clock_(clock),
      limits_(limits),
      max_queued_(std::max<size_t>(limits.max_queued, 1)) {
  worker_ = std::thread([this] { work(); });
}

BatchCommitter::~BatchCommitter() {
  (void)drain();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BatchCommitter::add(std::unique_ptr<WriteTxn> txn, FileRecord record) {
  std::unique_lock lock(mu_);
  if (open_.txns.empty() && open_.records.empty()) open_.opened = clock_.now();
  open_.bytes += record.size;
  if (txn) open_.txns.push_back(std::move(txn));
  open_.records.push_back(std::move(record));
  if (open_.records.size() >= limits_.files || open_.bytes >= limits_.bytes ||
      clock_.now() - open_.opened >= limits_.interval) {
    close_open_batch(lock);
  }
}

void BatchCommitter::flush() {
  std::unique_lock lock(mu_);
  close_open_batch(lock);
}

void BatchCommitter::close_open_batch(std::unique_lock<std::mutex>& lock) {
  if (open_.txns.empty() && open_.records.empty()) return;
  cv_.wait(lock, [&] { return queue_.size() < max_queued_; });
  queue_.push_back(std::move(open_));
  open_ = Batch();
  cv_.notify_all();
}

Status BatchCommitter::drain() {
  std::unique_lock lock(mu_);
  close_open_batch(lock);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
  return first_error_;
}

uint64_t BatchCommitter::committed_files() const {
  std::lock_guard lock(mu_);
  return committed_files_;
}

void BatchCommitter::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ with nothing left
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    bool failed = !first_error_.ok();
    cv_.notify_all();  // a slot is free
    lock.unlock();
    Status s;
    if (!failed) {
      s = target_.commit(batch.txns);
      if (s.ok()) s = db_.upsert(batch.records);
      if (s.ok()) {
        logger_.debug("mirror.commit_batch",
                      {{"files", static_cast<uint64_t>(batch.records.size())}});
      }
    }
    size_t n = batch.txns.size();
    batch.txns.clear();  // uncommitted temporaries are removed here, outside the lock
    lock.lock();
    if (!failed && s.ok()) committed_files_ += n;
    if (!s.ok() && first_error_.ok()) first_error_ = s;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace depot
