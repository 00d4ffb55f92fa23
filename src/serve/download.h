#pragma once
// Download: one upstream fetch of one cache key, shared by every request that wants that key
// while it runs (coalescing). The body is written to a partial file; readers follow the file as
// it grows, each at its own pace, so a slow reader never slows the fetch or another reader.
//
// A streaming reader may send at most sendable() bytes: all but the last byte until the
// download is complete (verified and stored), so a failed or mismatching download can always be
// reported by closing the connection short of the declared length.
//
// Interest: every client that waits for or reads the download holds an Interest. When the last
// one is dropped before the download ended, the abandoned hook runs (the cache then decides
// whether to finish the download for later clients or to cancel it).
//
// Thread-safety: ByteSink methods and on_start() are called by one upstream worker thread;
// finish_*() once by that thread; everything else from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/unique_fd.h"
#include "transfer/downloader.h"

namespace depot {

class Download final : public ByteSink {
 public:
  enum class State {
    kPending,      // waiting for upstream's answer
    kStreaming,    // headers known (declared length), body arriving
    kComplete,     // verified and stored; body_fd() holds all of it
    kNotModified,  // upstream confirmed the cached copy (304)
    kFailed,       // see status() and error()
  };

  struct Snapshot {
    State state = State::kPending;
    uint64_t available = 0;  // bytes of the body in body_fd()
    int64_t total = -1;      // declared or final length; -1 unknown
    std::string content_type, etag, last_modified;
    int status = 0;          // HTTP status to answer with when kFailed (404, 502, 504)
    std::string error;       // when kFailed
    // Bytes a streaming reader may send now (see the file comment).
    uint64_t sendable() const;
  };

  // `fd` is a writable descriptor of the partial file (dup'ed by the caller; owned here).
  // `streamable`: readers may follow the body before it is complete (false for bodies that are
  // transformed or parsed before they are served).
  Download(std::string key, UniqueFd fd, bool streamable);

  int body_fd() const;  // valid while the Download lives

  // ByteSink. A reset() after bytes were written switches to replay: the repeated bytes of the
  // retry are compared with those already written, and a difference fails the write.
  Status write(std::span<const std::byte> data) override;
  Status reset() override;
  uint64_t bytes_written() const override;
  // Records the declared length and validators; enters kStreaming when the body is streamable
  // and its length is declared. A retry declaring another length fails the download.
  void on_start(const ResponseStart& start);

  // Terminal transitions; each wakes every waiter.
  void finish_complete(UniqueFd final_fd, uint64_t size, std::string content_type);
  void finish_not_modified();
  void finish_failed(int status, std::string error);

  Snapshot snapshot() const;
  // Calls `cb` exactly once when more than `seen_bytes` bytes are sendable or the state is other
  // than `seen_state` — immediately on this thread if that is already so, else later on the
  // thread that made progress — unless unwait() drops it first. `cb` must be cheap (post to an
  // executor) and must not call back. Returns an id for unwait(); 0 when `cb` already ran.
  uint64_t wait(State seen_state, uint64_t seen_bytes, std::function<void()> cb);
  // Drops a waiting callback without calling it (destroyed outside the lock). Unknown or
  // already-called ids are ignored.
  void unwait(uint64_t id);

  // One client's interest; dropping the last one before a terminal state calls the abandoned
  // hook on the dropping thread.
  class Interest {
   public:
    explicit Interest(std::shared_ptr<Download> d);
    ~Interest();
    Interest(const Interest&) = delete;
    Interest& operator=(const Interest&) = delete;

   private:
    std::shared_ptr<Download> d_;
  };
  // Set before the first Interest; must be cheap and thread-safe, and may call unwait/snapshot.
  void set_abandoned_hook(std::function<void()> hook);
  int interested() const;  // clients holding an Interest now


 private:
  void wake(std::unique_lock<std::mutex>& lock);

  const std::string key_;
  const bool streamable_;
  mutable std::mutex mu_;
  UniqueFd fd_;
  UniqueFd final_fd_;  // set at completion when the stored body is another file
  Snapshot snap_;
  uint64_t written_ = 0;     // bytes accepted in the current attempt
  uint64_t replay_until_ = 0;  // bytes to compare instead of append after a reset
  bool sink_failed_ = false;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters_;
  uint64_t next_waiter_ = 1;
  int interested_ = 0;
  std::function<void()> abandoned_hook_;
};

}  // namespace depot
