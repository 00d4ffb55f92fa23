#include "cluster/location_log.h"

#include <algorithm>
#include <limits>
#include <system_error>

#include "location_schema_v1_sql.h"
#include "location_schema_v2_sql.h"

namespace depot::cluster {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUpsertCopy =
    "INSERT INTO copies (path, node, size, sha256) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (path, node) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256";
constexpr std::string_view kDeleteCopy = "DELETE FROM copies WHERE path = ?1 AND node = ?2";

// SQLite binds signed 64-bit integers.
int64_t clamp_limit(size_t limit) {
  return static_cast<int64_t>(
      std::min<uint64_t>(limit, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

Copy copy_from(const db::Statement& st, int first_col) {
  Copy c;
  c.node = st.column_text(first_col);
  c.size = static_cast<uint64_t>(st.column_int(first_col + 1));
  c.sha256 = st.column_text(first_col + 2);
  return c;
}

Status bind_copy_and_exec(db::Statement& st, std::string_view path, std::string_view node,
                          uint64_t size, std::string_view sha256) {
  st.bind(1, path).bind(2, node).bind(3, static_cast<int64_t>(size)).bind(4, sha256);
  return st.exec();
}

// Resets a cached statement when the scope ends: it holds no read open between calls.
struct ResetOnExit {
  db::Statement& st;
  ~ResetOnExit() { st.reset(); }
};

Result<uint64_t> count(db::Connection& conn, std::string_view sql) {
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn.prepare(sql));
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  return row ? static_cast<uint64_t>(st.column_int(0)) : 0;
}

}  // namespace

Result<std::unique_ptr<LocationLog>> LocationLog::open(const fs::path& state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "creating " + state_dir.string() + ": " + ec.message());
  }
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn,
                         db::Connection::open(state_dir / "locations.sqlite3"));
  DEPOT_TRY(conn.migrate({kLocationSchemaV1, kLocationSchemaV2}));
  return std::unique_ptr<LocationLog>(new LocationLog(std::move(conn)));
}

Result<std::vector<Copy>> LocationLog::holders(std::string_view path) {
  std::lock_guard lock(mu_);
  if (!holders_st_) {
    DEPOT_ASSIGN_OR_RETURN(db::Statement prepared,
                           conn_.prepare("SELECT node, size, sha256 FROM copies WHERE path = ?1"));
    holders_st_.emplace(std::move(prepared));
  }
  db::Statement& st = *holders_st_;
  const ResetOnExit done{st};
  st.bind(1, path);
  std::vector<Copy> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(copy_from(st, 0));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::vector<Copy>>>> LocationLog::paths(
    std::string_view after, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::vector<Copy>>> out;
  if (limit == 0) return out;
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st, conn_.prepare("SELECT path, node, size, sha256 FROM copies WHERE path > ?1 "
                                      "ORDER BY path, node"));
  st.bind(1, after);
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    std::string path = st.column_text(0);
    if (out.empty() || out.back().first != path) {
      if (out.size() == limit) break;
      out.emplace_back(std::move(path), std::vector<Copy>{});
    }
    out.back().second.push_back(copy_from(st, 1));
  }
  return out;
}

Result<std::vector<std::string>> LocationLog::paths_on(std::string_view node,
                                                       std::string_view after, size_t limit) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn_.prepare("SELECT path FROM copies WHERE node = ?1 AND path > ?2 "
                                       "ORDER BY path LIMIT ?3"));
  st.bind(1, node).bind(2, after).bind(3, clamp_limit(limit));
  return st.first_column_texts();
}

Status LocationLog::add(std::string_view path, const Copy& copy) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn_.prepare(kUpsertCopy));
  return bind_copy_and_exec(st, path, copy.node, copy.size, copy.sha256);
}

Status LocationLog::remove(std::string_view node, std::string_view path) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn_.prepare(kDeleteCopy));
  st.bind(1, path).bind(2, node);
  return st.exec();
}

Status LocationLog::apply(std::string_view node, const std::vector<NodeChange>& changes,
                          int64_t last) {
  std::lock_guard lock(mu_);
  db::Transaction tx(conn_);
  DEPOT_TRY(tx.begin());
  DEPOT_ASSIGN_OR_RETURN(db::Statement put, conn_.prepare(kUpsertCopy));
  DEPOT_ASSIGN_OR_RETURN(db::Statement del, conn_.prepare(kDeleteCopy));
  for (const NodeChange& c : changes) {
    if (c.deleted) {
      del.bind(1, c.path).bind(2, node);
      DEPOT_TRY(del.exec());
    } else {
      DEPOT_TRY(bind_copy_and_exec(put, c.path, node, c.size, c.sha256));
    }
  }
  DEPOT_ASSIGN_OR_RETURN(db::Statement cur,
                         conn_.prepare("INSERT INTO cursors (node, seq) VALUES (?1, ?2) "
                                       "ON CONFLICT (node) DO UPDATE SET seq = excluded.seq"));
  cur.bind(1, node).bind(2, last);
  DEPOT_TRY(cur.exec());
  return tx.commit();
}

Result<int64_t> LocationLog::cursor(std::string_view node) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn_.prepare("SELECT seq FROM cursors WHERE node = ?1"));
  st.bind(1, node);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  return row ? st.column_int(0) : int64_t{0};
}

Status LocationLog::forget(std::string_view node) {
  std::lock_guard lock(mu_);
  db::Transaction tx(conn_);
  DEPOT_TRY(tx.begin());
  DEPOT_ASSIGN_OR_RETURN(db::Statement copies, conn_.prepare("DELETE FROM copies WHERE node = ?1"));
  copies.bind(1, node);
  DEPOT_TRY(copies.exec());
  DEPOT_ASSIGN_OR_RETURN(db::Statement cur, conn_.prepare("DELETE FROM cursors WHERE node = ?1"));
  cur.bind(1, node);
  DEPOT_TRY(cur.exec());
  return tx.commit();
}

Status LocationLog::set_tombstone(std::string_view path, bool on) {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn_.prepare(on ? "INSERT OR IGNORE INTO tombstones (path) VALUES (?1)"
                                          : "DELETE FROM tombstones WHERE path = ?1"));
  st.bind(1, path);
  return st.exec();
}

Result<std::vector<std::string>> LocationLog::tombstones() {
  std::lock_guard lock(mu_);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn_.prepare("SELECT path FROM tombstones ORDER BY path"));
  return st.first_column_texts();
}

Result<uint64_t> LocationLog::path_count() {
  std::lock_guard lock(mu_);
  return count(conn_, "SELECT COUNT(DISTINCT path) FROM copies");
}

Result<uint64_t> LocationLog::copy_count() {
  std::lock_guard lock(mu_);
  return count(conn_, "SELECT COUNT(*) FROM copies");
}

}  // namespace depot::cluster
