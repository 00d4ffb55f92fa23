#include "serve/cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache_schema_v1_sql.h"
#include "core/file_io.h"
#include "core/rel_path.h"
#include "db/sqlite.h"

namespace depot {

namespace fs = std::filesystem;

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Error io_error(std::string_view what, int err) {
  return make_error(ErrorCode::kIo, std::string(what) + ": " + std::strerror(err));
}

// Opens the directory `parent` ("" for `root` itself; RelPath-valid otherwise) beneath `root`,
// one component at a time, never following symlinks. With `create`, missing directories are
// made (0755). Returns the fd, or -errno (ENOTDIR / ELOOP when a component is a file / symlink).
int open_dir_beneath(int root, std::string_view parent, bool create) {
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return -errno;
  size_t start = 0;
  while (start < parent.size()) {
    size_t end = parent.find('/', start);
    if (end == std::string_view::npos) end = parent.size();
    std::string comp(parent.substr(start, end - start));
    int fd = ::openat(cur.get(), comp.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) return -errno;
      fd = ::openat(cur.get(), comp.c_str(), kDirFlags);
    }
    if (fd < 0) return -errno;
    cur.reset(fd);
    start = end + 1;
  }
  return cur.release();
}

// lstat of files/<rel> beneath `root`; 0 or errno.
int stat_beneath(int root, const RelPath& rel, struct stat* st) {
  int dir = open_dir_beneath(root, rel.parent(), false);
  if (dir < 0) return -dir;
  UniqueFd guard(dir);
  std::string name(rel.filename());
  return ::fstatat(dir, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

// Unlinks files/<rel> (a symlink itself, never its target); 0 or errno.
int unlink_beneath(int root, const RelPath& rel) {
  int dir = open_dir_beneath(root, rel.parent(), false);
  if (dir < 0) return -dir;
  UniqueFd guard(dir);
  std::string name(rel.filename());
  return ::unlinkat(dir, name.c_str(), 0) == 0 ? 0 : errno;
}

struct Node {
  std::string rel;
  CachedMeta meta;
  int64_t seq = 0;     // LRU logical clock; persisted as access_seq
  bool dirty = false;  // seq changed since it was last written to cache.db
};
using LruList = std::list<Node>;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

// Invariants (under mu): `lru` holds one node per cached file, least recently used first, in
// increasing seq order; `index` maps each node's rel (a view into the node) to it; `total` is
// the sum of their sizes; every node has a row in cache.db whose access_seq equals its seq
// unless the node is dirty (then it is listed in `dirty`). Pins are counted apart from nodes, so
// a path may be pinned before it is committed and after it is removed.
struct CacheStore::Impl {
  Impl(db::Connection c, Logger& l) : conn(std::move(c)), logger(l) {}

  db::Connection conn;
  Logger& logger;
  fs::path dir;
  uint64_t max_bytes = 0;
  UniqueFd lock_fd;  // flock on <dir>/lock: one server per cache directory
  UniqueFd files_fd;
  UniqueFd partial_fd;
  std::atomic<uint64_t> partial_counter{0};

  std::mutex mu;
  LruList lru;
  std::unordered_map<std::string_view, LruList::iterator> index;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> pins;
  std::vector<std::string> dirty;
  uint64_t total = 0;
  uint64_t evicted = 0;
  int64_t next_seq = 1;

  std::optional<db::Statement> upsert_row;
  std::optional<db::Statement> delete_row;
  std::optional<db::Statement> touch_row;
  std::optional<db::Statement> validate_row;

  Status prepare() {
    DEPOT_ASSIGN_OR_RETURN(upsert_row, conn.prepare(
        "INSERT OR REPLACE INTO files (path, size, sha256, etag, last_modified, content_type, "
        "fetched_at, validated_at, access_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    DEPOT_ASSIGN_OR_RETURN(delete_row, conn.prepare("DELETE FROM files WHERE path = ?"));
    DEPOT_ASSIGN_OR_RETURN(touch_row,
                           conn.prepare("UPDATE files SET access_seq = ? WHERE path = ?"));
    DEPOT_ASSIGN_OR_RETURN(validate_row, conn.prepare(
        "UPDATE files SET etag = ?, last_modified = ?, validated_at = ? WHERE path = ?"));
    return ok_status();
  }

  Node* find(std::string_view rel) {
    auto it = index.find(rel);
    return it == index.end() ? nullptr : &*it->second;
  }

  void erase(Node* node) {
    auto it = index.find(node->rel);
    total -= node->meta.size;
    LruList::iterator pos = it->second;
    index.erase(it);
    lru.erase(pos);
  }

  // Rows for `rels` deleted in one transaction (after their files are gone). A failure only
  // leaves rows whose file is missing, which the next open() drops.
  void delete_rows(const std::vector<std::string>& rels) {
    if (rels.empty()) return;
    db::Transaction tx(conn);
    Status st = tx.begin();
    for (size_t i = 0; st.ok() && i < rels.size(); ++i) st = delete_row->bind(1, rels[i]).exec();
    if (st.ok()) st = tx.commit();
    if (!st.ok()) logger.warn("cache_db_error", {{"error", st.error().to_string()}});
  }

  // Evicts least-recently-used unpinned files other than `keep` until the total is within
  // max_bytes. Pinned files are skipped; if only pinned files (and `keep`) remain the total
  // stays above the cap until a later commit finds room. Never fails: a file that cannot be
  // unlinked is logged and forgotten (open() deletes it as a stray).
  void evict(const Node* keep) {
    if (max_bytes == 0) return;
    std::vector<std::string> gone;
    auto it = lru.begin();
    while (total > max_bytes && it != lru.end()) {
      Node& node = *it++;
      if (&node == keep || pins.contains(node.rel)) continue;
      auto rel = RelPath::parse(node.rel);
      int err = rel.ok() ? unlink_beneath(files_fd.get(), *rel) : 0;
      if (err != 0 && err != ENOENT) {
        logger.warn("cache_evict_failed", {{"path", node.rel}, {"error", std::strerror(err)}});
      }
      gone.push_back(node.rel);
      ++evicted;
      erase(&node);
    }
    delete_rows(gone);
  }

  Status insert_row(const std::string& rel, const CachedMeta& m, int64_t seq) {
    return upsert_row->bind(1, rel)
        .bind(2, static_cast<int64_t>(m.size))
        .bind(3, m.sha256)
        .bind(4, m.etag)
        .bind(5, m.last_modified)
        .bind(6, m.content_type)
        .bind(7, m.fetched_at)
        .bind(8, m.validated_at)
        .bind(9, seq)
        .exec();
  }

  // open(): rows whose file is missing, not a regular file or of another size are dropped;
  // the rest become the LRU list in access order. Returns the number of rows dropped.
  Result<uint64_t> load() {
    DEPOT_ASSIGN_OR_RETURN(db::Statement q, conn.prepare(
        "SELECT path, size, sha256, etag, last_modified, content_type, fetched_at, "
        "validated_at, access_seq FROM files ORDER BY access_seq"));
    std::vector<std::string> dropped;
    for (;;) {
      DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
      if (!row) break;
      Node node;
      node.rel = q.column_text(0);
      node.meta.size = static_cast<uint64_t>(q.column_int(1));
      node.meta.sha256 = q.column_text(2);
      node.meta.etag = q.column_text(3);
      node.meta.last_modified = q.column_text(4);
      node.meta.content_type = q.column_text(5);
      node.meta.fetched_at = q.column_int(6);
      node.meta.validated_at = q.column_int(7);
      node.seq = q.column_int(8);
      next_seq = std::max(next_seq, node.seq + 1);
      auto rel = RelPath::parse(node.rel);
      struct stat st {};
      bool good = rel.ok() && stat_beneath(files_fd.get(), *rel, &st) == 0 &&
                  S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == node.meta.size;
      if (!good) {
        dropped.push_back(std::move(node.rel));
        continue;
      }
      total += node.meta.size;
      lru.push_back(std::move(node));
      auto last = std::prev(lru.end());
      index.emplace(last->rel, last);
    }
    q.reset();
    delete_rows(dropped);
    return static_cast<uint64_t>(dropped.size());
  }

  // open(): deletes everything under files/ that is not a cached regular file (strays,
  // symlinks, fifos...). Directories are walked, never followed through symlinks, and left.
  Result<uint64_t> delete_strays() {
    const fs::path root = dir / "files";
    std::vector<fs::path> doomed;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::file_status st = it->symlink_status(ec);
      if (ec) break;
      if (fs::is_directory(st)) continue;
      if (fs::is_regular_file(st) &&
          index.contains(it->path().lexically_relative(root).generic_string())) {
        continue;
      }
      doomed.push_back(it->path());
    }
    if (ec) return make_error(ErrorCode::kIo, root.string() + ": " + ec.message());
    for (const fs::path& p : doomed) {
      fs::remove(p, ec);  // unlink(2): removes a symlink, not its target
      if (ec) return make_error(ErrorCode::kIo, p.string() + ": " + ec.message());
    }
    return static_cast<uint64_t>(doomed.size());
  }
};

Result<std::unique_ptr<CacheStore>> CacheStore::open(const Options& options, Logger& logger) {
  const fs::path& dir = options.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": " + ec.message());
  // Before partial/ is emptied: another server's downloads in progress live there.
  DEPOT_ASSIGN_OR_RETURN(UniqueFd lock_fd,
                         lock_file(dir / "lock", "another depot server uses this cache directory"));
  fs::remove_all(dir / "partial", ec);
  if (!ec) fs::create_directory(dir / "partial", ec);
  if (!ec) fs::create_directory(dir / "files", ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": " + ec.message());
  UniqueFd files_fd(::open((dir / "files").c_str(), kDirFlags));
  if (!files_fd.valid()) return io_error((dir / "files").string(), errno);
  UniqueFd partial_fd(::open((dir / "partial").c_str(), kDirFlags));
  if (!partial_fd.valid()) return io_error((dir / "partial").string(), errno);

  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(dir / "cache.db"));
  DEPOT_TRY(conn.migrate({kCacheSchemaV1}));
  auto impl = std::make_unique<Impl>(std::move(conn), logger);
  impl->dir = dir;
  impl->max_bytes = options.max_bytes;
  impl->lock_fd = std::move(lock_fd);
  impl->files_fd = std::move(files_fd);
  impl->partial_fd = std::move(partial_fd);
  DEPOT_TRY(impl->prepare());
  DEPOT_ASSIGN_OR_RETURN(uint64_t dropped, impl->load());
  DEPOT_ASSIGN_OR_RETURN(uint64_t strays, impl->delete_strays());
  impl->evict(nullptr);
  logger.info("cache_opened", {{"dir", dir.string()},
                               {"files", static_cast<uint64_t>(impl->lru.size())},
                               {"bytes", impl->total},
                               {"dropped", dropped},
                               {"strays_deleted", strays},
                               {"evicted", impl->evicted}});
  return std::unique_ptr<CacheStore>(new CacheStore(std::move(impl)));
}

CacheStore::CacheStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CacheStore::~CacheStore() {
  Status st = flush_access_times();
  if (!st.ok()) impl_->logger.warn("cache_flush_failed", {{"error", st.error().to_string()}});
}

int CacheStore::files_dir_fd() const { return impl_->files_fd.get(); }

std::optional<CachedMeta> CacheStore::lookup(std::string_view rel) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->index.find(rel);
  if (it == impl_->index.end()) return std::nullopt;
  LruList::iterator pos = it->second;
  impl_->lru.splice(impl_->lru.end(), impl_->lru, pos);
  pos->seq = impl_->next_seq++;
  if (!pos->dirty) {
    pos->dirty = true;
    impl_->dirty.push_back(pos->rel);
  }
  return pos->meta;
}

CacheStore::Pin::Pin(Pin&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)), rel_(std::move(o.rel_)) {}

CacheStore::Pin& CacheStore::Pin::operator=(Pin&& o) noexcept {
  if (this != &o) {
    if (store_) store_->unpin(rel_);
    store_ = std::exchange(o.store_, nullptr);
    rel_ = std::move(o.rel_);
  }
  return *this;
}

CacheStore::Pin::~Pin() {
  if (store_) store_->unpin(rel_);
}

CacheStore::Pin CacheStore::pin(std::string_view rel) {
  std::string key(rel);
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->pins[key];
  }
  return Pin(this, std::move(key));
}

void CacheStore::unpin(const std::string& rel) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->pins.find(rel);
  if (it != impl_->pins.end() && --it->second == 0) impl_->pins.erase(it);
}

Result<CacheStore::Partial> CacheStore::create_partial() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = "dl-" + std::to_string(::getpid()) + "-" +
                       std::to_string(impl_->partial_counter.fetch_add(1));
    int fd = ::openat(impl_->partial_fd.get(), name.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return Partial{UniqueFd(fd), std::move(name)};
    if (errno != EEXIST) return io_error((impl_->dir / "partial" / name).string(), errno);
  }
  return make_error(ErrorCode::kIo, (impl_->dir / "partial").string() + ": no free name");
}

void CacheStore::discard_partial(Partial&& partial) {
  Partial p = std::move(partial);
  if (!p.name.empty()) ::unlinkat(impl_->partial_fd.get(), p.name.c_str(), 0);
}

Status CacheStore::commit(Partial&& partial, std::string_view rel_text, const CachedMeta& meta) {
  Partial p = std::move(partial);
  auto fail = [&](Error e) -> Status {
    discard_partial(std::move(p));
    return e;
  };
  auto rel = RelPath::parse(rel_text);
  if (!rel.ok()) return fail(rel.error());
  const std::string label = (impl_->dir / "files" / rel->str()).string();
  struct stat st {};
  if (!p.fd.valid()) return fail(io_error(label, EBADF));
  if (::fstat(p.fd.get(), &st) != 0) return fail(io_error(label, errno));
  if (static_cast<uint64_t>(st.st_size) != meta.size) {
    return fail(make_error(ErrorCode::kInternal,
                           label + ": partial has " + std::to_string(st.st_size) +
                               " bytes, metadata says " + std::to_string(meta.size)));
  }

  std::lock_guard lock(impl_->mu);
  int dir = open_dir_beneath(impl_->files_fd.get(), rel->parent(), true);
  if (dir < 0) return fail(io_error(label + ": parent directory", -dir));
  UniqueFd parent(dir);
  const std::string name(rel->filename());
  const int64_t seq = impl_->next_seq++;

  db::Transaction tx(impl_->conn);
  Status row = tx.begin();
  if (row.ok()) row = impl_->insert_row(rel->str(), meta, seq);
  if (!row.ok()) return fail(row.error());
  int rc = ::renameat(impl_->partial_fd.get(), p.name.c_str(), parent.get(), name.c_str());
  if (rc != 0 && errno == EISDIR) {
    // An empty directory left by earlier evictions may stand where the file goes.
    if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) == 0) {
      rc = ::renameat(impl_->partial_fd.get(), p.name.c_str(), parent.get(), name.c_str());
    } else {
      errno = EISDIR;
    }
  }
  if (rc != 0) return fail(io_error(label, errno));  // the transaction rolls back
  p.name.clear();  // renamed: nothing left to discard
  Node* node = impl_->find(rel->str());
  Status done = tx.commit();
  if (!done.ok()) {
    // The old body is already replaced; forget it so the store stays truthful. Its stale row
    // (rolled back) names a file that is gone and is dropped by the next open().
    ::unlinkat(parent.get(), name.c_str(), 0);
    if (node) impl_->erase(node);
    return done.error();
  }
  if (node) {
    impl_->total -= node->meta.size;
    impl_->lru.splice(impl_->lru.end(), impl_->lru, impl_->index.find(node->rel)->second);
  } else {
    impl_->lru.push_back(Node{rel->str(), {}, 0, false});
    auto last = std::prev(impl_->lru.end());
    impl_->index.emplace(last->rel, last);
    node = &*last;
  }
  node->meta = meta;
  node->seq = seq;
  node->dirty = false;
  impl_->total += meta.size;
  impl_->evict(node);
  return ok_status();
}

Status CacheStore::mark_validated(std::string_view rel_text, std::string_view etag,
                                  std::string_view last_modified, int64_t validated_at) {
  DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(rel_text));
  std::lock_guard lock(impl_->mu);
  Node* node = impl_->find(rel.str());
  if (!node) {
    return make_error(ErrorCode::kNotFound, quote_untrusted(rel.str()) + ": not cached");
  }
  CachedMeta m = node->meta;
  if (!etag.empty()) m.etag = etag;
  if (!last_modified.empty()) m.last_modified = last_modified;
  m.validated_at = validated_at;
  DEPOT_TRY(impl_->validate_row->bind(1, m.etag)
                .bind(2, m.last_modified)
                .bind(3, m.validated_at)
                .bind(4, rel.str())
                .exec());
  node->meta = std::move(m);
  return ok_status();
}

Status CacheStore::remove(std::string_view rel_text) {
  DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(rel_text));
  std::lock_guard lock(impl_->mu);
  Node* node = impl_->find(rel.str());
  if (!node) return ok_status();
  int err = unlink_beneath(impl_->files_fd.get(), rel);
  if (err != 0 && err != ENOENT) {
    return io_error((impl_->dir / "files" / rel.str()).string(), err);
  }
  impl_->erase(node);
  return impl_->delete_row->bind(1, rel.str()).exec();
}

uint64_t CacheStore::total_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->total;
}

uint64_t CacheStore::file_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->lru.size();
}

std::vector<std::pair<std::string, std::string>> CacheStore::find_paths(
    const std::function<bool(std::string_view)>& keep) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard lock(impl_->mu);
  for (const Node& n : impl_->lru) {
    if (keep(n.rel)) out.emplace_back(n.rel, n.meta.sha256);
  }
  return out;
}

uint64_t CacheStore::evictions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->evicted;
}

uint64_t CacheStore::max_bytes() const { return impl_->max_bytes; }

Status CacheStore::flush_access_times() {
  std::lock_guard lock(impl_->mu);
  if (impl_->dirty.empty()) return ok_status();
  db::Transaction tx(impl_->conn);
  DEPOT_TRY(tx.begin());
  for (const std::string& rel : impl_->dirty) {
    Node* node = impl_->find(rel);
    if (node && node->dirty) DEPOT_TRY(impl_->touch_row->bind(1, node->seq).bind(2, rel).exec());
  }
  DEPOT_TRY(tx.commit());
  for (const std::string& rel : impl_->dirty) {
    if (Node* node = impl_->find(rel)) node->dirty = false;
  }
  impl_->dirty.clear();
  return ok_status();
}

}  // namespace depot
