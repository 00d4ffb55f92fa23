#include "serve/node_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file_io.h"
#include "core/units.h"
#include "node_schema_v1_sql.h"
#include "serve/node_tree.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

// Writeback of a body is started every this many bytes, so the fsync before commit is short.
constexpr uint64_t kFlushEvery = 8 << 20;

Error io_error(const std::string& what, int err) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(err));
}

std::string temp_name_for(const RelPath& path) {
  static std::atomic<uint64_t> counter{0};
  std::string base(path.filename());
  if (base.size() > 100) base.resize(100);
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + base + ".part";
}

}  // namespace

// --- NodeUpload ---

NodeUpload::NodeUpload(NodeStore& store, RelPath path, uint64_t size, std::string sha256)
    : store_(store),
      path_(std::move(path)),
      size_(size),
      sha256_(std::move(sha256)),
      hasher_(digest_bit(DigestAlgo::kSha256)) {}

NodeUpload::~NodeUpload() {
  if (!temp_name_.empty()) ::unlinkat(store_.tmp_fd_.get(), temp_name_.c_str(), 0);
  if (!done_) store_.release(size_, size_ - written_);
}

Status NodeUpload::write(const char* data, size_t n) {
  if (n > size_ - written_) {
    return make_error(ErrorCode::kSizeMismatch, path_.str() + ": the body is longer than its " +
                                                    "Content-Length (" + std::to_string(size_) +
                                                    " bytes)");
  }
  const char* p = data;
  for (size_t left = n; left > 0;) {
    ssize_t w = ::write(fd_.get(), p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == ENOSPC || errno == EDQUOT)) {
      return make_error(ErrorCode::kRefused,
                        "node " + store_.opts_.name + ": the disk is full writing " + path_.str());
    }
    if (w < 0) return io_error("writing the body of " + path_.str(), errno);
    p += w;
    left -= static_cast<size_t>(w);
  }
  hasher_.update(std::string_view(data, n));
  written_ += n;
  store_.note_written(n);
  if (written_ - flushed_ >= kFlushEvery) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(flushed_),
                      static_cast<off_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
    flushed_ = written_;
  }
  return ok_status();
}

// --- NodeStore ---

NodeStore::NodeStore(const NodeOptions& options, Logger& logger)
    : opts_(options),
      log_(logger),
      clock_(options.clock != nullptr ? *options.clock : system_clock()) {}

NodeStore::~NodeStore() = default;

Result<std::unique_ptr<NodeStore>> NodeStore::open(const NodeOptions& options, Logger& logger,
                                                   ReconcileReport* report) {
  std::unique_ptr<NodeStore> store(new NodeStore(options, logger));
  ReconcileReport local;
  DEPOT_TRY(store->start(report != nullptr ? report : &local));
  return store;
}

Status NodeStore::start(ReconcileReport* report) {
  const fs::path state = opts_.root / ".depot-node";
  std::error_code ec;
  fs::create_directories(state / "tmp", ec);
  if (ec) return make_error(ErrorCode::kIo, "creating " + (state / "tmp").string() + ": " +
                                                ec.message());
  DEPOT_ASSIGN_OR_RETURN(lock_fd_, lock_file(state / "lock",
                                             "another depot serve --node uses this directory"));
  int fd = ::open(opts_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("opening " + opts_.root.string(), errno);
  root_fd_.reset(fd);
  fd = ::open((state / "tmp").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return io_error("opening " + (state / "tmp").string(), errno);
  tmp_fd_.reset(fd);
  DEPOT_TRY(clear_tmp());
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(state / "node.db"));
  DEPOT_TRY(conn.migrate({kNodeSchemaV1}));
  std::lock_guard lock(mu_);
  conn_.emplace(std::move(conn));
  DEPOT_TRY(reconcile(*report));
  return load_counters();
}

// What a killed process left: bodies that never committed.
Status NodeStore::clear_tmp() {
  auto names = [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(opts_.root / ".depot-node" / "tmp", ec)) {
      out.push_back(e.path().filename().string());
    }
    if (ec) return make_error(ErrorCode::kIo, "listing .depot-node/tmp: " + ec.message());
    return out;
  };
  DEPOT_ASSIGN_OR_RETURN(std::vector<std::string> leftovers, names());
  for (const std::string& name : leftovers) {
    if (::unlinkat(tmp_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return io_error("removing .depot-node/tmp/" + name, errno);
    }
  }
  if (!leftovers.empty()) {
    log_.info("node_tmp_cleared", {{"files", static_cast<uint64_t>(leftovers.size())}});
  }
  return ok_status();
}

Result<NodeStore::Disk> NodeStore::disk() const {
  struct statvfs vfs {};
  if (::fstatvfs(root_fd_.get(), &vfs) != 0) return io_error("statvfs " + opts_.root.string(),
                                                             errno);
  Disk d{static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize,
         static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize};
  if (opts_.free_bytes) {
    DEPOT_ASSIGN_OR_RETURN(d.free, opts_.free_bytes());
  }
  return d;
}

Result<uint64_t> NodeStore::free_bytes() const {
  if (opts_.free_bytes) return opts_.free_bytes();
  DEPOT_ASSIGN_OR_RETURN(Disk d, disk());
  return d.free;
}

void NodeStore::release(uint64_t size, uint64_t unwritten) {
  unwritten_.fetch_sub(unwritten, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  reserved_ -= size;
}

Result<std::unique_ptr<NodeUpload>> NodeStore::begin_put(const RelPath& path, uint64_t size,
                                                         std::string_view sha256) {
  auto digest = normalize_hex_digest(DigestAlgo::kSha256, sha256);
  if (!digest.ok()) {
    return make_error(ErrorCode::kInvalidArgument,
                      path.str() + ": X-Depot-Sha256 is not a sha256 in hex");
  }
  DEPOT_ASSIGN_OR_RETURN(uint64_t disk_free, free_bytes());
  {
    std::lock_guard lock(mu_);
    const uint64_t pending = unwritten_.load(std::memory_order_relaxed);
    if (opts_.capacity > 0 && used_ + reserved_ + size > opts_.capacity) {
      return make_error(ErrorCode::kRefused,
                        "node " + opts_.name + " is full: capacity " +
                            std::to_string(opts_.capacity) + " bytes, " + std::to_string(used_) +
                            " used, " + std::to_string(reserved_) + " in flight; " +
                            path.str() + " (" + std::to_string(size) + " bytes) does not fit");
    }
    if (size + pending > disk_free) {
      return make_error(ErrorCode::kRefused,
                        "node " + opts_.name + ": the disk has " + format_bytes(disk_free) +
                            " free, uploads in flight still need " + format_bytes(pending) +
                            "; " + path.str() + " (" + format_bytes(size) + ") does not fit");
    }
    reserved_ += size;
    unwritten_.fetch_add(size, std::memory_order_relaxed);
  }
  // From here the upload owns the reservation: any early return gives it back.
  std::unique_ptr<NodeUpload> up(new NodeUpload(*this, path, size, std::move(*digest)));
  std::string name = temp_name_for(path);
  int fd = ::openat(tmp_fd_.get(), name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return io_error("creating .depot-node/tmp/" + name, errno);
  up->fd_.reset(fd);
  up->temp_name_ = std::move(name);
  // Claims the blocks now: a disk that cannot hold the body refuses it before it is sent.
  if (size > 0 && ::fallocate(fd, 0, 0, static_cast<off_t>(size)) != 0 &&
      (errno == ENOSPC || errno == EDQUOT)) {
    return make_error(ErrorCode::kRefused, "node " + opts_.name + ": the disk has no room for " +
                                               path.str() + " (" + format_bytes(size) + ")");
  }
  return up;
}

Result<NodeFile> NodeStore::commit(std::unique_ptr<NodeUpload> up) {
  const std::string& rel = up->path_.str();
  if (up->written_ != up->size_) {
    return make_error(ErrorCode::kSizeMismatch,
                      rel + ": the body ended after " + std::to_string(up->written_) + " of " +
                          std::to_string(up->size_) + " bytes");
  }
  const std::string got = up->hasher_.finish().sha256;
  if (got != up->sha256_) {
    return make_error(ErrorCode::kDigestMismatch, rel + ": the body has sha256 " + got +
                                                      ", X-Depot-Sha256 said " + up->sha256_);
  }
  struct stat st {};
  if (::fsync(up->fd_.get()) != 0 || ::fstat(up->fd_.get(), &st) != 0) {
    return io_error("syncing the body of " + rel, errno);
  }
  UniqueFd parent;
  NodeFile out{rel, up->size_, up->sha256_, 0};
  {
    std::lock_guard lock(mu_);
    DEPOT_ASSIGN_OR_RETURN(parent, open_dir_beneath(root_fd_.get(), up->path_.parent(), true));
    DEPOT_ASSIGN_OR_RETURN(std::optional<NodeFile> old, find_row(rel));
    const std::string leaf(up->path_.filename());
    if (::renameat(tmp_fd_.get(), up->temp_name_.c_str(), parent.get(), leaf.c_str()) != 0) {
      if (errno == EISDIR || errno == ENOTDIR || errno == ENOTEMPTY || errno == EEXIST) {
        return make_error(ErrorCode::kUnsafePath, rel + ": a directory is in the way");
      }
      return io_error("renaming the body of " + rel + " into place", errno);
    }
    up->temp_name_.clear();
    auto seq = record(rel, false, up->size_, up->sha256_, static_cast<uint64_t>(st.st_ino),
                      mtime_ns(st));
    if (!seq.ok()) {  // visible but unrecorded: the next start's reconcile records it
      log_.warn("node_record_failed", {{"path", rel}, {"error", seq.error().message}});
      return seq.error();
    }
    out.seq = *seq;
    used_ = used_ + up->size_ - (old ? old->size : 0);
    if (!old) ++files_;
  }
  if (::fsync(parent.get()) != 0) return io_error("syncing the directory of " + rel, errno);
  return out;
}

Result<int64_t> NodeStore::remove(const RelPath& path) {
  const std::string& rel = path.str();
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(std::optional<NodeFile> row, find_row(rel));
  bool unlinked = false;
  auto parent = open_dir_beneath(root_fd_.get(), path.parent(), false);
  if (parent.ok()) {
    const std::string leaf(path.filename());
    if (::unlinkat(parent->get(), leaf.c_str(), 0) == 0) {
      unlinked = true;
    } else if (errno != ENOENT && errno != EISDIR) {
      return io_error("removing " + rel, errno);
    }
  } else if (parent.error().code == ErrorCode::kIo) {
    return parent.error();
  }
  if (!unlinked && !row) {
    return make_error(ErrorCode::kNotFound, rel + ": no such file on node " + opts_.name);
  }
  DEPOT_ASSIGN_OR_RETURN(int64_t seq, record(rel, true, 0, "", 0, 0));
  if (row) {
    used_ -= std::min(used_, row->size);
    --files_;
  }
  if (unlinked) {
    ::fsync(parent->get());
    prune_empty_dirs(root_fd_.get(), path.parent());
  }
  return seq;
}

Result<std::optional<NodeFile>> NodeStore::lookup(const RelPath& path) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(std::optional<NodeFile> row, find_row(path.str()));
  if (!row) return row;
  auto parent = open_dir_beneath(root_fd_.get(), path.parent(), false);
  if (!parent.ok()) return std::optional<NodeFile>();
  struct stat st {};
  const std::string leaf(path.filename());
  if (::fstatat(parent->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != row->size) {
    return std::optional<NodeFile>();
  }
  return row;
}

Result<ChangePage> NodeStore::changes(int64_t since, size_t limit) {
  std::lock_guard lock(mu_);
  db::Connection& c = *conn_;
  DEPOT_ASSIGN_OR_RETURN(db::Statement q,
                         c.prepare("SELECT seq, op, path, size, sha256 FROM entries "
                                   "WHERE seq > ?1 ORDER BY seq LIMIT ?2"));
  q.bind(1, since).bind(2, static_cast<int64_t>(limit) + 1);
  ChangePage page;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
    if (!row) break;
    if (page.changes.size() == limit) {
      page.more = true;
      break;
    }
    NodeChange ch;
    ch.seq = q.column_int(0);
    ch.deleted = q.column_text(1) == "delete";
    ch.path = q.column_text(2);
    ch.size = static_cast<uint64_t>(q.column_int(3));
    ch.sha256 = q.column_text(4);
    page.changes.push_back(std::move(ch));
  }
  if (!page.changes.empty()) {
    page.last = page.changes.back().seq;
    return page;
  }
  DEPOT_ASSIGN_OR_RETURN(db::Statement m, c.prepare("SELECT COALESCE(MAX(seq), 0) FROM entries"));
  DEPOT_ASSIGN_OR_RETURN(bool got, m.step());
  page.last = got ? m.column_int(0) : 0;
  return page;
}

Result<NodeStatus> NodeStore::status() {
  DEPOT_ASSIGN_OR_RETURN(Disk d, disk());
  const uint64_t size = opts_.capacity > 0 ? opts_.capacity : d.size;
  std::lock_guard lock(mu_);
  return NodeStatus{opts_.name, opts_.capacity, used_, d.free, size, reserved_, files_};
}

Result<int64_t> NodeStore::record(const std::string& path, bool deleted, uint64_t size,
                                  const std::string& sha256, uint64_t ino, int64_t mtime) {
  db::Connection& c = *conn_;
  // REPLACE deletes the path's previous row and inserts a new one under the next seq.
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         c.prepare("INSERT OR REPLACE INTO entries "
                                   "(path, op, size, sha256, ino, mtime_ns) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, path)
      .bind(2, deleted ? "delete" : "put")
      .bind(3, static_cast<int64_t>(size))
      .bind(4, sha256)
      .bind(5, static_cast<int64_t>(ino))
      .bind(6, mtime);
  DEPOT_TRY(st.exec());
  return c.last_insert_rowid();
}

Result<std::optional<NodeFile>> NodeStore::find_row(const std::string& path) {
  DEPOT_ASSIGN_OR_RETURN(db::Statement q,
                         conn_->prepare("SELECT size, sha256, seq FROM entries "
                                        "WHERE path = ?1 AND op = 'put'"));
  q.bind(1, path);
  DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return std::optional<NodeFile>();
  return std::optional<NodeFile>(
      NodeFile{path, static_cast<uint64_t>(q.column_int(0)), q.column_text(1), q.column_int(2)});
}

}  // namespace depot
