#include "site/history.h"

#include <algorithm>

#include "history_schema_v1_sql.h"

namespace depot::site {
namespace {

int64_t millis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
WallTime from_millis(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

constexpr const char* kColumns =
    "id, job, started_ms, ended_ms, result, files, bytes, total_files, total_bytes, exit_code, "
    "error";

RunRecord read_run(const db::Statement& s) {
  RunRecord r;
  r.id = s.column_int(0);
  r.job = s.column_text(1);
  r.started = from_millis(s.column_int(2));
  if (!s.column_is_null(3)) r.ended = from_millis(s.column_int(3));
  r.result = s.column_text(4);
  r.files = static_cast<uint64_t>(s.column_int(5));
  r.bytes = static_cast<uint64_t>(s.column_int(6));
  r.total_files = static_cast<uint64_t>(s.column_int(7));
  r.total_bytes = static_cast<uint64_t>(s.column_int(8));
  r.exit_code = static_cast<int>(s.column_int(9));
  r.error = s.column_text(10);
  return r;
}

}  // namespace

Result<History> History::open(const std::filesystem::path& file, WallTime now) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  auto conn = db::Connection::open(file);
  if (!conn.ok()) return conn.error();
  if (Status st = conn->migrate({kHistorySchemaV1}); !st.ok()) return st.error();
  History h(std::move(*conn));
  auto close = h.db_.prepare(
      "UPDATE runs SET ended_ms = ?1, result = 'failed', error = 'cut off: the process "
      "ended during the run' WHERE result = 'running'");
  if (!close.ok()) return close.error();
  if (Status st = close->bind(1, millis(now)).exec(); !st.ok()) return st.error();
  return h;
}

Result<int64_t> History::begin(const std::string& job, WallTime started) {
  auto s = db_.prepare("INSERT INTO runs (job, started_ms, result) VALUES (?1, ?2, 'running')");
  if (!s.ok()) return s.error();
  if (Status st = s->bind(1, job).bind(2, millis(started)).exec(); !st.ok()) return st.error();
  return db_.last_insert_rowid();
}

Status History::end(const RunRecord& r) {
  auto s = db_.prepare(
      "UPDATE runs SET ended_ms = ?2, result = ?3, files = ?4, bytes = ?5, total_files = ?6, "
      "total_bytes = ?7, exit_code = ?8, error = ?9 WHERE id = ?1");
  if (!s.ok()) return s.error();
  s->bind(1, r.id)
      .bind(2, millis(r.ended.value_or(r.started)))
      .bind(3, r.result)
      .bind(4, static_cast<int64_t>(r.files))
      .bind(5, static_cast<int64_t>(r.bytes))
      .bind(6, static_cast<int64_t>(r.total_files))
      .bind(7, static_cast<int64_t>(r.total_bytes))
      .bind(8, static_cast<int64_t>(r.exit_code))
      .bind(9, r.error);
  return s->exec();
}

Result<std::vector<RunRecord>> History::recent(const std::string& job, int limit) {
  auto s = db_.prepare(std::string("SELECT ") + kColumns +
                       " FROM runs WHERE job = ?1 ORDER BY started_ms DESC, id DESC LIMIT ?2");
  if (!s.ok()) return s.error();
  s->bind(1, job).bind(2, static_cast<int64_t>(limit));
  std::vector<RunRecord> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    out.push_back(read_run(*s));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Status History::prune(WallTime cutoff) {
  auto s = db_.prepare(
      "DELETE FROM runs WHERE started_ms < ?1 AND id NOT IN "
      "(SELECT MAX(id) FROM runs GROUP BY job, result)");
  if (!s.ok()) return s.error();
  return s->bind(1, millis(cutoff)).exec();
}

Result<std::set<std::string>> History::disabled() {
  auto s = db_.prepare("SELECT job FROM disabled");
  if (!s.ok()) return s.error();
  auto names = s->first_column_texts();
  if (!names.ok()) return names.error();
  return std::set<std::string>(names->begin(), names->end());
}

Status History::set_disabled(const std::string& job, bool disabled) {
  auto s = db_.prepare(disabled ? "INSERT OR IGNORE INTO disabled (job) VALUES (?1)"
                                : "DELETE FROM disabled WHERE job = ?1");
  if (!s.ok()) return s.error();
  return s->bind(1, job).exec();
}

}  // namespace depot::site
