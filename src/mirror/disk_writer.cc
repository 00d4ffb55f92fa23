#include "mirror/disk_writer.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace depot {
namespace {

constexpr size_t kChunk = 256u << 10;
constexpr size_t kPoolMax = 32;  // recycled blocks kept (8 MiB)

}  // namespace

DiskWriter::Buffer& DiskWriter::Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

DiskWriter::Buffer::~Buffer() { std::free(data_); }

DiskWriter::Buffer DiskWriter::Buffer::allocate() {
  Buffer b;
  b.data_ = static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, kChunk));
  if (!b.data_) throw std::bad_alloc();
  return b;
}

bool DiskWriter::Buffer::full() const { return size_ == kChunk; }

size_t DiskWriter::Buffer::append(std::span<const std::byte> in) {
  size_t n = std::min(kChunk - size_, in.size());
  std::memcpy(data_ + size_, in.data(), n);
  size_ += n;
  return n;
}

DiskWriter::DiskWriter(Target& target, size_t max_queued_bytes)
    : target_(target), max_queued_bytes_(max_queued_bytes) {
  worker_ = std::thread([this] { work(); });
}

DiskWriter::~DiskWriter() {
  drain();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::unique_ptr<DiskWriter::Sink> DiskWriter::make_sink(RelPath path, WriteHints hints) {
  return std::make_unique<Sink>(*this, std::move(path), std::move(hints));
}

void DiskWriter::drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

size_t DiskWriter::footprint(const Buffer& b) { return b.allocated() ? kChunk : 0; }

void DiskWriter::push(Op op) {
  std::unique_lock lock(mu_);
  size_t n = footprint(op.data);
  cv_.wait(lock, [&] { return queued_bytes_ == 0 || queued_bytes_ + n <= max_queued_bytes_; });
  queued_bytes_ += n;
  queue_.push_back(std::move(op));
  cv_.notify_all();
}

DiskWriter::Buffer DiskWriter::take_buffer() {
  {
    std::lock_guard lock(mu_);
    if (!pool_.empty()) {
      Buffer b = std::move(pool_.back());
      pool_.pop_back();
      return b;
    }
  }
  return Buffer::allocate();
}

void DiskWriter::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Op op = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    execute(op);
    size_t n = footprint(op.data);
    op.done = nullptr;  // release captures outside the lock
    lock.lock();
    queued_bytes_ -= n;
    if (op.data.allocated() && pool_.size() < kPoolMax) {
      op.data.clear();
      pool_.push_back(std::move(op.data));
    }
    busy_ = false;
    cv_.notify_all();
  }
}

void DiskWriter::execute(Op& op) {
  Sink& s = *op.sink;
  auto ensure_open = [&]() -> bool {
    if (s.txn_ || !s.error_.ok()) return s.error_.ok();
    auto txn = target_.begin_write(s.path_, s.hints_);
    if (!txn.ok()) {
      s.error_ = txn.error();
      return false;
    }
    s.txn_ = std::move(txn).value();
    return true;
  };
  switch (op.kind) {
    case OpKind::kWrite:
      if (ensure_open()) {
        // Only full blocks arrive before the tail, so they qualify for the direct path.
        Status w = op.data.full() ? s.txn_->write_aligned(op.data.bytes())
                                  : s.txn_->write(op.data.bytes());
        if (!w.ok()) s.error_ = w;
      }
      break;
    case OpKind::kReset:
      if (s.txn_ && s.error_.ok()) {
        if (Status r = s.txn_->reset(); !r.ok()) s.error_ = r;
      }
      break;
    case OpKind::kFinish:
      if (ensure_open()) {
        if (Status c = s.txn_->close(); !c.ok()) s.error_ = c;
      }
      if (s.error_.ok()) {
        op.done(std::move(s.txn_));
      } else {
        s.txn_.reset();
        op.done(s.error_.error());
      }
      break;
    case OpKind::kDrop:
      s.txn_.reset();
      s.error_ = Status();
      break;
  }
}

Status DiskWriter::Sink::write(std::span<const std::byte> data) {
  written_ += data.size();
  while (!data.empty()) {
    if (!buf_.allocated()) buf_ = writer_.take_buffer();
    data = data.subspan(buf_.append(data));
    if (buf_.full()) {
      writer_.push(Op{this, OpKind::kWrite, std::move(buf_), nullptr});
      buf_ = Buffer();
    }
  }
  return ok_status();
}

Status DiskWriter::Sink::reset() {
  buf_.clear();
  written_ = 0;
  writer_.push(Op{this, OpKind::kReset, {}, nullptr});
  return ok_status();
}

void DiskWriter::Sink::finish(DoneFn done) {
  if (!buf_.empty()) writer_.push(Op{this, OpKind::kWrite, std::move(buf_), nullptr});
  buf_ = Buffer();
  writer_.push(Op{this, OpKind::kFinish, {}, std::move(done)});
}

void DiskWriter::Sink::drop() {
  buf_ = Buffer();
  writer_.push(Op{this, OpKind::kDrop, {}, nullptr});
}

}  // namespace depot
