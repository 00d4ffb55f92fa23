#include "serve/download.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace depot {

uint64_t Download::Snapshot::sendable() const {
  if (state == State::kComplete) return available;
  if (state != State::kStreaming || total <= 0) return 0;
  uint64_t cap = static_cast<uint64_t>(total) - 1;
  return available < cap ? available : cap;
}

Download::Download(std::string key, UniqueFd fd, bool streamable)
    : key_(std::move(key)), streamable_(streamable), fd_(std::move(fd)) {}

int Download::body_fd() const {
  std::lock_guard lock(mu_);
  return final_fd_.valid() ? final_fd_.get() : fd_.get();
}

Status Download::write(std::span<const std::byte> data) {
  if (sink_failed_) return make_error(ErrorCode::kSizeMismatch, key_ + ": download abandoned");
  const char* p = reinterpret_cast<const char*>(data.data());
  size_t n = data.size();
  // Replay after a retry: the first bytes must equal those readers may already have.
  while (n > 0 && written_ < replay_until_) {
    char buf[65536];
    size_t want = std::min<uint64_t>({n, replay_until_ - written_, sizeof buf});
    ssize_t got = ::pread(fd_.get(), buf, want, static_cast<off_t>(written_));
    if (got <= 0 || std::memcmp(buf, p, static_cast<size_t>(got)) != 0) {
      sink_failed_ = true;
      return make_error(ErrorCode::kDigestMismatch,
                        key_ + ": upstream sent different bytes on retry");
    }
    written_ += static_cast<uint64_t>(got);
    p += got;
    n -= static_cast<size_t>(got);
  }
  while (n > 0) {
    ssize_t w = ::pwrite(fd_.get(), p, n, static_cast<off_t>(written_));
    if (w < 0) {
      if (errno == EINTR) continue;
      sink_failed_ = true;
      return make_error(ErrorCode::kIo, key_ + ": cannot write the cache file: " +
                                            std::strerror(errno));
    }
    written_ += static_cast<uint64_t>(w);
    p += w;
    n -= static_cast<size_t>(w);
  }
  std::unique_lock lock(mu_);
  if (written_ > snap_.available) {
    uint64_t before = snap_.sendable();
    snap_.available = written_;
    if (snap_.sendable() > before) wake(lock);
  }
  return {};
}

Status Download::reset() {
  replay_until_ = std::max(replay_until_, written_);
  written_ = 0;
  return {};
}

uint64_t Download::bytes_written() const { return written_; }

void Download::on_start(const ResponseStart& start) {
  std::unique_lock lock(mu_);
  if (snap_.total >= 0 && start.content_length != snap_.total) {
    // A retry declared another length: the bytes readers have may belong to another file.
    sink_failed_ = true;
    snap_.state = State::kFailed;
    snap_.status = 502;
    snap_.error = key_ + ": upstream changed the length between attempts";
    wake(lock);
    return;
  }
  snap_.total = start.content_length;
  snap_.content_type = start.content_type;
  snap_.etag = start.etag;
  snap_.last_modified = start.last_modified;
  if (streamable_ && snap_.total >= 0 && snap_.state == State::kPending) {
    snap_.state = State::kStreaming;
    wake(lock);
  }
}

void Download::finish_complete(UniqueFd final_fd, uint64_t size, std::string content_type) {
  std::unique_lock lock(mu_);
  if (snap_.state == State::kFailed) return;
  if (final_fd.valid()) final_fd_ = std::move(final_fd);
  snap_.state = State::kComplete;
  snap_.available = size;
  snap_.total = static_cast<int64_t>(size);
  if (!content_type.empty()) snap_.content_type = std::move(content_type);
  wake(lock);
}

void Download::finish_not_modified() {
  std::unique_lock lock(mu_);
  snap_.state = State::kNotModified;
  wake(lock);
}

void Download::finish_failed(int status, std::string error) {
  std::unique_lock lock(mu_);
  if (snap_.state == State::kFailed) return;
  snap_.state = State::kFailed;
  snap_.status = status;
  snap_.error = std::move(error);
  wake(lock);
}

Download::Snapshot Download::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

uint64_t Download::wait(State seen_state, uint64_t seen_bytes, std::function<void()> cb) {
  {
    std::lock_guard lock(mu_);
    if (snap_.state == seen_state && snap_.sendable() <= seen_bytes) {
      uint64_t id = next_waiter_++;
      waiters_.emplace_back(id, std::move(cb));
      return id;
    }
  }
  cb();
  return 0;
}

void Download::unwait(uint64_t id) {
  std::function<void()> dropped;  // destroyed after the lock: it may hold the last Interest
  std::lock_guard lock(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->first == id) {
      dropped = std::move(it->second);
      waiters_.erase(it);
      break;
    }
  }
}

void Download::wake(std::unique_lock<std::mutex>& lock) {
  if (waiters_.empty()) return;
  std::vector<std::pair<uint64_t, std::function<void()>>> ready;
  ready.swap(waiters_);
  lock.unlock();
  for (auto& w : ready) w.second();
  ready.clear();
  lock.lock();
}

Download::Interest::Interest(std::shared_ptr<Download> d) : d_(std::move(d)) {
  std::lock_guard lock(d_->mu_);
  ++d_->interested_;
}

Download::Interest::~Interest() {
  std::function<void()> hook;
  {
    std::lock_guard lock(d_->mu_);
    bool running = d_->snap_.state == State::kPending || d_->snap_.state == State::kStreaming;
    if (--d_->interested_ == 0 && running) hook = d_->abandoned_hook_;
  }
  if (hook) hook();
}

void Download::set_abandoned_hook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  abandoned_hook_ = std::move(hook);
}

int Download::interested() const {
  std::lock_guard lock(mu_);
  return interested_;
}


}  // namespace depot
