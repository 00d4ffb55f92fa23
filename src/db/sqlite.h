#pragma once
// RAII wrapper over SQLite: Connection (one per thread) and Statement (prepared, bound by
// 1-based index). Errors are values naming the database file. Not thread-safe: a Connection
// and its Statements belong to one thread at a time.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace depot::db {

class Connection;

class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_null(int index);
  // Steps once: true when a row is available, false when done.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status exec();
  // Runs to completion: the first column of every row, as text.
  Result<std::vector<std::string>> first_column_texts();
  // Resets for re-execution and clears bindings.
  void reset();

  int64_t column_int(int col) const;
  std::string column_text(int col) const;
  bool column_is_null(int col) const;

 private:
  friend class Connection;
  Statement(Connection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Connection* conn_;
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  // Opens (creating) the database file; sets WAL journaling, synchronous=NORMAL, a busy
  // timeout, and foreign keys on.
  static Result<Connection> open(const std::filesystem::path& path);
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  Status exec(std::string_view sql);  // one or more statements, no results
  Result<Statement> prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int changes() const;

  // Applies migrations in order: migrations[i] brings the schema from version i to i+1.
  // The version lives in PRAGMA user_version; each step runs in its own transaction.
  // A database newer than the code knows is an error.
  Status migrate(const std::vector<std::string_view>& migrations);
  int64_t schema_version();

  Error error(std::string_view what) const;  // the last SQLite error, naming the file
  const std::string& path() const { return path_; }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(Connection& conn);
  ~Transaction();
  Status begin();
  Status commit();

 private:
  Connection& conn_;
  bool active_ = false;
};

}  // namespace depot::db
