#pragma once
// NodeStore: the files of a storage node (`depot serve DIR --node NAME`) and its inventory.
// Files live in DIR itself (served by plain GET); the node's own state is DIR/.depot-node/:
// `lock` (one process per directory), `tmp/` (bodies being received; emptied at start) and
// `node.db` (node_schema_v1.sql: the latest change of every path, numbered by seq).
//
// A put reserves its declared size before the body is read (begin_put), so concurrent uploads
// together never exceed the capacity; the body goes to a temporary file, is checked (length,
// sha256) and fsynced, renamed beneath DIR without following symlinks, the directory fsynced
// and the inventory updated (commit). An upload dropped before commit leaves nothing behind.
// At start the inventory is reconciled with the tree: files it lacks (a pre-existing mirror,
// a rename a crash left unrecorded) are hashed and added, files it lists that are gone are
// recorded as deleted.
//
// Thread-safe: any thread may call any method; one mutex guards the database, the counters and
// the placing of files (directory creation, rename, unlink, rmdir), so a delete can never remove
// a directory a concurrent put is renaming into. Bodies are written and hashed outside it.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/digest.h"
#include "core/logger.h"
#include "core/rel_path.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "db/sqlite.h"

namespace depot {

struct NodeOptions {
  std::filesystem::path root;  // DIR
  std::string name;            // the node's name, in status and inventory answers
  uint64_t capacity = 0;       // bytes the node may hold; 0: no cap but the disk's free space
  // Bytes free for the node's files; null: statvfs of root (f_bavail). Tests inject it.
  std::function<Result<uint64_t>()> free_bytes;
  Clock* clock = nullptr;      // null: the system clock (times the start-up reconcile)
};

// A file as the inventory knows it.
struct NodeFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
  int64_t seq = 0;  // the change that stored it
};

struct NodeChange {
  int64_t seq = 0;
  bool deleted = false;  // op "delete" (size and sha256 then empty)
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

struct ChangePage {
  std::vector<NodeChange> changes;  // seq ascending, all > since
  // The seq of the last change returned; with no change, the newest seq the node has (below
  // `since` only when the inventory is younger than the caller thinks: it was recreated).
  int64_t last = 0;
  bool more = false;  // changes after `last` exist
};

struct NodeStatus {
  std::string name;
  uint64_t capacity = 0;  // 0: none
  uint64_t used = 0;      // bytes of the files in the inventory
  uint64_t free = 0;      // bytes free on the disk (see NodeOptions::free_bytes)
  // Bytes the node offers in all: the capacity, else its disk's size. Placement weighs nodes
  // by it, so it must not move as the disk fills (0 from a node too old to report it).
  uint64_t size = 0;
  uint64_t inflight = 0;  // bytes reserved by uploads in progress
  uint64_t files = 0;
  // Gateways between this node and the copies it serves: 0 for a storage node or a bucket;
  // a gateway answering as a node of another gateway reports 1 + its nearest holder's hops.
  uint32_t hops = 0;
};

// What the start-up reconcile found (also logged as node_reconciled).
struct ReconcileReport {
  uint64_t files = 0;      // regular files in the tree
  uint64_t added = 0;      // hashed and recorded: not in the inventory
  uint64_t changed = 0;    // hashed and recorded again: size, inode or mtime differed
  uint64_t removed = 0;    // recorded as deleted: listed but gone
  uint64_t skipped = 0;    // names no API path can have (control bytes, .depot*, ...) and symlinks
  uint64_t hashed_bytes = 0;
  double seconds = 0;
};

class NodeStore;

// One body on its way in, from begin_put to commit. Owned by one thread at a time. Destroyed
// uncommitted (the client left, a check failed), it removes its temporary file and returns its
// reservation.
class NodeUpload {
 public:
  ~NodeUpload();
  NodeUpload(const NodeUpload&) = delete;
  NodeUpload& operator=(const NodeUpload&) = delete;

  // Appends body bytes and hashes them. Errors: kSizeMismatch beyond the declared size,
  // kRefused when the disk is full (ENOSPC, EDQUOT), kIo otherwise.
  Status write(const char* data, size_t n);
  const RelPath& path() const { return path_; }
  uint64_t size() const { return size_; }
  uint64_t written() const { return written_; }

 private:
  friend class NodeStore;
  NodeUpload(NodeStore& store, RelPath path, uint64_t size, std::string sha256);

  NodeStore& store_;
  RelPath path_;
  uint64_t size_;
  std::string sha256_;  // expected, lower-case hex
  std::string temp_name_;  // in DIR/.depot-node/tmp
  UniqueFd fd_;
  Hasher hasher_;
  uint64_t written_ = 0;
  uint64_t flushed_ = 0;  // bytes whose writeback was started (sync_file_range)
  bool done_ = false;     // committed, or its reservation already returned
};

class NodeStore {
 public:
  // Creates DIR/.depot-node/ when missing, takes its lock (kRefused when another process holds
  // it), empties tmp/, opens the inventory and reconciles it with the tree. `report`, when
  // given, receives what the reconcile did.
  static Result<std::unique_ptr<NodeStore>> open(const NodeOptions& options, Logger& logger,
                                                 ReconcileReport* report = nullptr);
  ~NodeStore();

  // Starts storing `size` bytes at `path` (an overwrite is allowed), expected to hash to
  // `sha256` (hex, any case). Errors: kRefused when the capacity (counting every upload in
  // flight, and not crediting a file the upload would replace) or the disk's free space has no
  // room; kInvalidArgument for a bad digest; kIo when the temporary file cannot be made.
  Result<std::unique_ptr<NodeUpload>> begin_put(const RelPath& path, uint64_t size,
                                                std::string_view sha256);
  // Makes a complete upload visible at its path. Errors: kSizeMismatch when fewer bytes came
  // than declared, kDigestMismatch, kUnsafePath when the tree is in the way (a file or symlink
  // where a directory must be, a directory where the file goes), kIo. Whatever the outcome, the
  // upload is finished: its temporary file is gone and its reservation returned.
  Result<NodeFile> commit(std::unique_ptr<NodeUpload> upload);
  // Removes the file at `path` and records the delete. kNotFound when neither the tree nor the
  // inventory has a file there. Directories left empty are removed.
  Result<int64_t> remove(const RelPath& path);
  // The inventory's file at `path` when it is also in the tree with that size; else nullopt.
  Result<std::optional<NodeFile>> lookup(const RelPath& path);
  // Changes with seq > since, at most `limit` (>= 1).
  Result<ChangePage> changes(int64_t since, size_t limit);
  Result<NodeStatus> status();

 private:
  friend class NodeUpload;
  NodeStore(const NodeOptions& options, Logger& logger);

  Status start(ReconcileReport* report);
  Status clear_tmp();
  // node_reconcile.cc
  Status reconcile(ReconcileReport& report);
  Status load_counters();
  // Replaces the row of `path` with a new change; returns its seq. Caller holds mu_.
  Result<int64_t> record(const std::string& path, bool deleted, uint64_t size,
                         const std::string& sha256, uint64_t ino, int64_t mtime_ns);
  // The inventory row of `path` when its op is put. Caller holds mu_.
  Result<std::optional<NodeFile>> find_row(const std::string& path);
  // Returns an upload's reservation (and what it did not write).
  void release(uint64_t size, uint64_t unwritten);
  void note_written(uint64_t n) { unwritten_.fetch_sub(n, std::memory_order_relaxed); }
  struct Disk {
    uint64_t free = 0;  // NodeOptions::free_bytes when set, else f_bavail
    uint64_t size = 0;  // f_blocks
  };
  Result<Disk> disk() const;  // one statvfs of root
  Result<uint64_t> free_bytes() const;

  NodeOptions opts_;
  Logger& log_;
  Clock& clock_;
  UniqueFd lock_fd_, root_fd_, tmp_fd_;
  std::mutex mu_;
  std::optional<db::Connection> conn_;  // guarded by mu_
  uint64_t used_ = 0, files_ = 0;       // guarded by mu_
  uint64_t reserved_ = 0;               // guarded by mu_: declared sizes of open uploads
  std::atomic<uint64_t> unwritten_{0};  // reserved bytes not yet written to disk
};

}  // namespace depot
