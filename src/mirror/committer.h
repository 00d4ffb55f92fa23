#pragma once
// Commits finished blob files in batches on a background thread (one batched sync, renames,
// directory syncs, then the state-DB rows), so neither the download loop nor the disk writer
// waits for the disk to settle. A batch closes when it reaches `files` or `bytes`, or when a
// file arrives `interval` after the batch opened. Batches commit in order. At most
// `max_queued` closed batches wait; add() blocks past that (bounds temporary disk use, or memory).
//
// Thread-safety: add(), flush() and drain() may be called from any thread. While batches are
// pending, other threads must not use `db`, and may use `target` only for begin_write() and
// WriteTxn operations (see Target).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/logger.h"
#include "mirror/state_db.h"
#include "storage/target.h"

namespace depot {

struct BatchLimits {
  size_t files = 1000;
  uint64_t bytes = 64ull << 20;
  std::chrono::milliseconds interval{2000};
  // Closed batches waiting to commit. A target that holds pending files in memory (S3) keeps
  // (max_queued + 2) × bytes in memory at most: the open, the waiting and the committing ones.
  size_t max_queued = 4;
};

class BatchCommitter {
 public:
  BatchCommitter(Target& target, StateDb& db, Logger& logger, Clock& clock,
                 BatchLimits limits = {});
  ~BatchCommitter();  // drains

  // Adds a closed transaction (or only a record, when `txn` is null) to the open batch.
  // After the first failure every later batch is dropped uncommitted (temporary files
  // removed) and drain() reports that failure.
  void add(std::unique_ptr<WriteTxn> txn, FileRecord record);
  // Closes the open batch now.
  void flush();
  // Flushes, then waits until every batch is committed or dropped; the first error.
  Status drain();
  uint64_t committed_files() const;

 private:
  struct Batch {
    std::vector<std::unique_ptr<WriteTxn>> txns;
    std::vector<FileRecord> records;
    uint64_t bytes = 0;
    SteadyTime opened{};
  };
  void close_open_batch(std::unique_lock<std::mutex>& lock);
  void work();

  Target& target_;
  StateDb& db_;
  Logger& logger_;
  Clock& clock_;
  BatchLimits limits_;
  size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Batch open_;
  std::deque<Batch> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status first_error_;
  uint64_t committed_files_ = 0;
  std::thread worker_;
};

}  // namespace depot
