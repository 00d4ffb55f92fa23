#include "db/sqlite.h"

#include <sqlite3.h>

namespace depot::db {

Statement::Statement(Statement&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_) {
  o.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    conn_ = o.conn_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->error("step");
}

Status Statement::exec() {
  for (;;) {
    auto r = step();
    if (!r.ok()) {
      reset();
      return r.error();
    }
    if (!r.value()) break;
  }
  reset();
  return ok_status();
}

Result<std::vector<std::string>> Statement::first_column_texts() {
  std::vector<std::string> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return out;
    out.push_back(column_text(0));
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::column_text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  if (!t) return {};
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Result<Connection> Connection::open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = path.string() + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return make_error(ErrorCode::kIo, msg);
  }
  Connection conn(db, path.string());
  sqlite3_busy_timeout(db, 10000);
  DEPOT_TRY(conn.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                      "PRAGMA foreign_keys=ON;"));
  return conn;
}

Connection::Connection(Connection&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) {
  o.db_ = nullptr;
}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = o.db_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
  }
  return *this;
}

Connection::~Connection() { sqlite3_close_v2(db_); }

Error Connection::error(std::string_view what) const {
  return make_error(ErrorCode::kIo, path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status Connection::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = path_ + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return make_error(ErrorCode::kIo, msg);
  }
  return ok_status();
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return error("prepare");
  return Statement(this, stmt);
}

int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const { return sqlite3_changes(db_); }

int64_t Connection::schema_version() {
  auto st = prepare("PRAGMA user_version");
  if (!st.ok()) return -1;
  auto r = st->step();
  if (!r.ok() || !r.value()) return -1;
  return st->column_int(0);
}

Status Connection::migrate(const std::vector<std::string_view>& migrations) {
  int64_t version = schema_version();
  if (version < 0) return error("reading schema version");
  if (version > static_cast<int64_t>(migrations.size())) {
    return make_error(ErrorCode::kIo, path_ + ": schema version " + std::to_string(version) +
                                          " is newer than this depot knows (" +
                                          std::to_string(migrations.size()) + ")");
  }
  for (size_t v = static_cast<size_t>(version); v < migrations.size(); ++v) {
    Transaction txn(*this);
    DEPOT_TRY(txn.begin());
    DEPOT_TRY(exec(migrations[v]));
    DEPOT_TRY(exec("PRAGMA user_version = " + std::to_string(v + 1)));
    DEPOT_TRY(txn.commit());
  }
  return ok_status();
}

Transaction::Transaction(Connection& conn) : conn_(conn) {}

Transaction::~Transaction() {
  if (active_) (void)conn_.exec("ROLLBACK");
}

Status Transaction::begin() {
  DEPOT_TRY(conn_.exec("BEGIN IMMEDIATE"));
  active_ = true;
  return ok_status();
}

Status Transaction::commit() {
  DEPOT_TRY(conn_.exec("COMMIT"));
  active_ = false;
  return ok_status();
}

}  // namespace depot::db
