#pragma once
// An in-memory Target for tests: committed files in a map, transactions as strings. Every call
// is thread-safe (one mutex), so a background committer may use it.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/target.h"

namespace depot::testing {

class MemoryTarget final : public Target {
 public:
  // Committed files: path -> bytes.
  std::map<std::string, std::string> files() const {
    std::lock_guard lock(state_->mu);
    std::map<std::string, std::string> out;
    for (const auto& [path, f] : state_->files) out[path] = f.bytes;
    return out;
  }
  std::optional<std::string> file(const std::string& path) const {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path);
    if (it == state_->files.end()) return std::nullopt;
    return it->second.bytes;
  }
  // Places a committed file directly (a tree found on the target).
  void put(const std::string& path, std::string bytes) {
    std::lock_guard lock(state_->mu);
    state_->files[path] = {std::move(bytes), ++state_->clock, ""};
  }
  // Transactions begun and neither committed nor dropped.
  int open_transactions() const {
    std::lock_guard lock(state_->mu);
    return state_->open_txns;
  }
  // Committed files read back through open_read.
  int reads() const {
    std::lock_guard lock(state_->mu);
    return state_->reads;
  }
  // Reads of `path`'s pending transactions through WriteTxn::open_read (a download read back
  // before commit).
  int pending_reads(const std::string& path) const {
    std::lock_guard lock(state_->mu);
    auto it = state_->pending_reads.find(path);
    return it == state_->pending_reads.end() ? 0 : it->second;
  }
  // Overrides the sha256 stored with `path` (as metadata a tool rewrote).
  void set_stored_sha256(const std::string& path, std::string sha256) {
    std::lock_guard lock(state_->mu);
    state_->files[path].sha256 = std::move(sha256);
  }
  int debris_clears() const {
    std::lock_guard lock(state_->mu);
    return state_->debris_clears;
  }
  // When set, commit() fails (kIo, naming the file) for a path it returns true for; files of the
  // batch before it stay committed, as on a disk that fills up.
  void fail_commit_of(std::function<bool(const std::string&)> pred) {
    std::lock_guard lock(state_->mu);
    state_->fail_commit = std::move(pred);
  }

  std::string describe() const override { return "memory:"; }

  Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path,
                                                const WriteHints& hints) override {
    std::lock_guard lock(state_->mu);
    ++state_->open_txns;
    auto txn = std::make_unique<Txn>(state_, path);
    txn->sha256 = hints.sha256;
    return std::unique_ptr<WriteTxn>(std::move(txn));
  }

  Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) override {
    std::lock_guard lock(state_->mu);
    for (auto& t : txns) {
      if (!static_cast<Txn*>(t.get())->closed) {
        return make_error(ErrorCode::kInternal, t->path().str() + ": commit before close");
      }
    }
    for (auto& t : txns) {
      auto* txn = static_cast<Txn*>(t.get());
      if (state_->fail_commit && state_->fail_commit(txn->path().str())) {
        return make_error(ErrorCode::kIo, "committing " + txn->path().str() + ": injected failure");
      }
      state_->files[txn->path().str()] = {txn->bytes, ++state_->clock, txn->sha256};
      txn->committed = true;
    }
    return ok_status();
  }

  Result<std::optional<FileStat>> stat(const RelPath& path) override {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path.str());
    if (it == state_->files.end()) return std::optional<FileStat>();
    return std::optional<FileStat>(FileStat{it->second.bytes.size(), it->second.mtime});
  }

  // The sha256 a writer declared in WriteHints, as an object store keeps it in metadata.
  Result<std::optional<Digests>> stored_digests(const RelPath& path) override {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path.str());
    if (it == state_->files.end() || it->second.sha256.empty()) return std::optional<Digests>();
    Digests d;
    d.sha256 = it->second.sha256;
    return std::optional<Digests>(d);
  }

  Result<std::unique_ptr<ByteSource>> open_read(const RelPath& path) override {
    std::lock_guard lock(state_->mu);
    ++state_->reads;
    auto it = state_->files.find(path.str());
    if (it == state_->files.end()) {
      return make_error(ErrorCode::kNotFound, path.str() + ": not in memory:");
    }
    return memory_source(std::make_shared<const std::string>(it->second.bytes));
  }

  Status remove(const RelPath& path) override {
    std::lock_guard lock(state_->mu);
    state_->files.erase(path.str());
    return ok_status();
  }

  Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) override {
    std::map<std::string, FileStat> snapshot;
    {
      std::lock_guard lock(state_->mu);
      for (const auto& [p, f] : state_->files) snapshot[p] = FileStat{f.bytes.size(), f.mtime};
    }
    for (const auto& [p, st] : snapshot) fn(*RelPath::parse(p), st);
    return ok_status();
  }

  Status clear_debris() override {
    std::lock_guard lock(state_->mu);
    ++state_->debris_clears;
    return ok_status();
  }

 private:
  struct File {
    std::string bytes;
    int64_t mtime = 0;  // a counter: later commits are newer
    std::string sha256;  // WriteHints::sha256 of the transaction that wrote it
  };
  struct State {
    mutable std::mutex mu;
    std::map<std::string, File> files;
    int64_t clock = 0;
    int open_txns = 0;
    int debris_clears = 0;
    int reads = 0;
    std::map<std::string, int> pending_reads;
    std::function<bool(const std::string&)> fail_commit;
  };

  class Txn final : public WriteTxn {
   public:
    Txn(std::shared_ptr<State> state, RelPath path) : state_(std::move(state)), path_(std::move(path)) {}
    ~Txn() override {
      std::lock_guard lock(state_->mu);
      --state_->open_txns;
    }
    const RelPath& path() const override { return path_; }
    Status write(std::span<const std::byte> data) override {
      if (closed) return make_error(ErrorCode::kInternal, path_.str() + ": write after close");
      bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
      return ok_status();
    }
    Status reset() override {
      bytes.clear();
      return ok_status();
    }
    uint64_t bytes_written() const override { return bytes.size(); }
    Status close() override {
      closed = true;
      return ok_status();
    }
    Result<std::unique_ptr<ByteSource>> open_read() override {
      if (!closed) return make_error(ErrorCode::kInternal, path_.str() + ": read before close");
      {
        std::lock_guard lock(state_->mu);
        ++state_->pending_reads[path_.str()];
      }
      return memory_source(std::make_shared<const std::string>(bytes));
    }

    std::string bytes;
    std::string sha256;
    bool closed = false;
    bool committed = false;

   private:
    std::shared_ptr<State> state_;
    RelPath path_;
  };

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace depot::testing
