// NodeStore's start-up reconcile: makes the inventory agree with the tree (see node_store.h).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "serve/node_store.h"
#include "serve/node_tree.h"

namespace depot {
namespace {

constexpr uint64_t kRowsPerTransaction = 5000;

// Entries the node API can never name: private state (".depot*" anywhere, as serve hides it)
// and the API's own top-level prefix.
bool api_visible(std::string_view rel, bool is_dir) {
  if (rel == "_depot") return false;
  for (size_t start = 0; start <= rel.size();) {
    size_t end = std::min(rel.find('/', start), rel.size());
    if (rel.substr(start, end - start).starts_with(".depot")) return false;
    start = end + 1;
  }
  return is_dir || RelPath::parse(rel).ok();
}

// One reconcile pass over the inventory's connection: marks each file of the tree seen,
// hashes and records those whose row does not match, then records the unseen rows as deleted.
// Rows are committed kRowsPerTransaction at a time.
class Reconciler {
 public:
  using Record = std::function<Result<int64_t>(const std::string& path, bool deleted,
                                               uint64_t size, const std::string& sha256,
                                               uint64_t ino, int64_t mtime_ns)>;
  Reconciler(db::Connection& c, Record record, ReconcileReport& r)
      : c_(c), record_(std::move(record)), r_(r) {}

  Status begin() {
    DEPOT_TRY(c_.exec("CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY) WITHOUT "
                      "ROWID; DELETE FROM temp.seen;"));
    DEPOT_ASSIGN_OR_RETURN(known_, c_.prepare("SELECT size, ino, mtime_ns FROM entries "
                                              "WHERE path = ?1 AND op = 'put'"));
    DEPOT_ASSIGN_OR_RETURN(mark_, c_.prepare("INSERT INTO temp.seen VALUES (?1)"));
    txn_ = std::make_unique<db::Transaction>(c_);
    return txn_->begin();
  }

  // A regular file of the tree (walk_tree's visitor).
  Status file(const std::string& rel, int dir_fd, const char* name, const struct stat& lst) {
    ++r_.files;
    mark_->bind(1, rel);
    DEPOT_TRY(mark_->exec());
    mark_->reset();
    known_->bind(1, rel);
    DEPOT_ASSIGN_OR_RETURN(bool listed, known_->step());
    bool same = listed && known_->column_int(0) == static_cast<int64_t>(lst.st_size) &&
                static_cast<uint64_t>(known_->column_int(1)) == lst.st_ino &&
                known_->column_int(2) == mtime_ns(lst);
    known_->reset();
    if (same) return ok_status();
    int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      if (errno == ENOENT || errno == ELOOP) return ok_status();  // gone or replaced meanwhile
      return make_error(ErrorCode::kIo, rel + ": " + std::strerror(errno));
    }
    UniqueFd file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return ok_status();
    uint64_t bytes = 0;
    DEPOT_ASSIGN_OR_RETURN(std::string sha256, sha256_of_fd(fd, rel, &bytes));
    r_.hashed_bytes += bytes;
    auto seq = record_(rel, false, bytes, sha256, static_cast<uint64_t>(st.st_ino), mtime_ns(st));
    if (!seq.ok()) return seq.error();
    ++(listed ? r_.changed : r_.added);
    return next_row();
  }

  // Rows listed as stored whose files the walk did not see.
  Status finish() {
    std::vector<std::string> gone;
    {
      DEPOT_ASSIGN_OR_RETURN(db::Statement q,
                             c_.prepare("SELECT path FROM entries WHERE op = 'put' AND path "
                                        "NOT IN (SELECT path FROM temp.seen)"));
      for (;;) {
        DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
        if (!row) break;
        gone.push_back(q.column_text(0));
      }
    }
    for (const std::string& rel : gone) {
      if (auto seq = record_(rel, true, 0, "", 0, 0); !seq.ok()) return seq.error();
      ++r_.removed;
      DEPOT_TRY(next_row());
    }
    DEPOT_TRY(txn_->commit());
    return c_.exec("DELETE FROM temp.seen");
  }

 private:
  Status next_row() {
    if (++rows_ % kRowsPerTransaction != 0) return ok_status();
    DEPOT_TRY(txn_->commit());
    txn_ = std::make_unique<db::Transaction>(c_);
    return txn_->begin();
  }

  db::Connection& c_;
  Record record_;
  ReconcileReport& r_;
  std::optional<db::Statement> known_, mark_;
  std::unique_ptr<db::Transaction> txn_;
  uint64_t rows_ = 0;
};

}  // namespace

Status NodeStore::reconcile(ReconcileReport& r) {
  const auto t0 = clock_.now();
  Reconciler rec(
      *conn_,
      [this](const std::string& path, bool deleted, uint64_t size, const std::string& sha256,
             uint64_t ino, int64_t mtime) {
        return record(path, deleted, size, sha256, ino, mtime);
      },
      r);
  DEPOT_TRY(rec.begin());
  auto visit = [&rec](const std::string& rel, int dir_fd, const char* name,
                      const struct stat& st) { return rec.file(rel, dir_fd, name, st); };
  DEPOT_TRY(walk_tree(root_fd_.get(), api_visible, visit, &r.skipped));
  DEPOT_TRY(rec.finish());
  r.seconds = std::chrono::duration<double>(clock_.now() - t0).count();
  log_.info("node_reconciled", {{"node", opts_.name},
                                {"files", r.files},
                                {"added", r.added},
                                {"changed", r.changed},
                                {"removed", r.removed},
                                {"skipped", r.skipped},
                                {"hashed_bytes", r.hashed_bytes},
                                {"seconds", r.seconds}});
  return ok_status();
}

Status NodeStore::load_counters() {
  DEPOT_ASSIGN_OR_RETURN(db::Statement q,
                         conn_->prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries "
                                        "WHERE op = 'put'"));
  DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
  files_ = row ? static_cast<uint64_t>(q.column_int(0)) : 0;
  used_ = row ? static_cast<uint64_t>(q.column_int(1)) : 0;
  return ok_status();
}

}  // namespace depot
