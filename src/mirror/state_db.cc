#include "mirror/state_db.h"

#include <chrono>
#include <ctime>

#include "state_schema_v1_sql.h"
#include "state_schema_v2_sql.h"

namespace depot {
namespace {

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<StateDb> StateDb::open(const std::filesystem::path& file) {
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(file));
  DEPOT_TRY(conn.migrate({kStateSchemaV1, kStateSchemaV2}));
  return StateDb(std::move(conn));
}

Result<std::unordered_map<std::string, FileRecord>> StateDb::load_files() {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn_.prepare("SELECT path, size, md5, sha1, sha256, sha512, etag, last_modified, stage, "
                    "run_id FROM files"));
  std::unordered_map<std::string, FileRecord> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    FileRecord r;
    r.path = st.column_text(0);
    r.size = static_cast<uint64_t>(st.column_int(1));
    r.digests.md5 = st.column_text(2);
    r.digests.sha1 = st.column_text(3);
    r.digests.sha256 = st.column_text(4);
    r.digests.sha512 = st.column_text(5);
    r.etag = st.column_text(6);
    r.last_modified = st.column_text(7);
    r.stage = static_cast<int>(st.column_int(8));
    r.run_id = st.column_int(9);
    std::string key = r.path;
    out.emplace(std::move(key), std::move(r));
  }
  return out;
}

Status StateDb::upsert(const std::vector<FileRecord>& records) {
  if (records.empty()) return ok_status();
  db::Transaction txn(conn_);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn_.prepare("INSERT OR REPLACE INTO files (path, size, md5, sha1, sha256, sha512, etag, "
                    "last_modified, stage, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  for (const auto& r : records) {
    st.bind(1, r.path)
        .bind(2, static_cast<int64_t>(r.size))
        .bind(3, r.digests.md5)
        .bind(4, r.digests.sha1)
        .bind(5, r.digests.sha256)
        .bind(6, r.digests.sha512)
        .bind(7, r.etag)
        .bind(8, r.last_modified)
        .bind(9, static_cast<int64_t>(r.stage))
        .bind(10, r.run_id);
    DEPOT_TRY(st.exec());
  }
  return txn.commit();
}

Status StateDb::remove(const std::vector<std::string>& paths) {
  if (paths.empty()) return ok_status();
  db::Transaction txn(conn_);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn_.prepare("DELETE FROM files WHERE path = ?1"));
  for (const auto& p : paths) {
    st.bind(1, p);
    DEPOT_TRY(st.exec());
  }
  return txn.commit();
}

Result<std::unordered_map<std::string, int64_t>> StateDb::load_stale() {
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, conn_.prepare("SELECT path, since FROM stale"));
  std::unordered_map<std::string, int64_t> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.emplace(st.column_text(0), st.column_int(1));
  }
  return out;
}

Status StateDb::replace_stale(const std::unordered_map<std::string, int64_t>& stale) {
  db::Transaction txn(conn_);
  DEPOT_TRY(txn.begin());
  DEPOT_TRY(conn_.exec("DELETE FROM stale"));
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn_.prepare("INSERT INTO stale (path, since) VALUES (?1, ?2)"));
  for (const auto& [path, since] : stale) {
    st.bind(1, path).bind(2, since);
    DEPOT_TRY(st.exec());
  }
  return txn.commit();
}

Result<int64_t> StateDb::begin_run(const std::string& kind, const std::string& upstream) {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn_.prepare("INSERT INTO runs (kind, upstream, started_at, status) VALUES (?1, ?2, ?3, "
                    "'running')"));
  st.bind(1, kind).bind(2, upstream).bind(3, now_iso());
  DEPOT_TRY(st.exec());
  return conn_.last_insert_rowid();
}

Status StateDb::finish_run(const RunRecord& run) {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn_.prepare("UPDATE runs SET finished_at = ?2, status = ?3, exit_code = ?4, "
                    "files_total = ?5, files_downloaded = ?6, bytes_downloaded = ?7, "
                    "files_failed = ?8, files_removed = ?9, message = ?10 WHERE id = ?1"));
  st.bind(1, run.id)
      .bind(2, now_iso())
      .bind(3, run.status)
      .bind(4, static_cast<int64_t>(run.exit_code))
      .bind(5, static_cast<int64_t>(run.files_total))
      .bind(6, static_cast<int64_t>(run.files_downloaded))
      .bind(7, static_cast<int64_t>(run.bytes_downloaded))
      .bind(8, static_cast<int64_t>(run.files_failed))
      .bind(9, static_cast<int64_t>(run.files_removed))
      .bind(10, run.message);
  return st.exec();
}

Result<std::vector<RunRecord>> StateDb::recent_runs(int limit) {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn_.prepare("SELECT id, kind, upstream, started_at, COALESCE(finished_at, ''), status, "
                    "COALESCE(exit_code, -1), files_total, files_downloaded, bytes_downloaded, "
                    "files_failed, files_removed, message FROM runs ORDER BY id DESC LIMIT ?1"));
  st.bind(1, static_cast<int64_t>(limit));
  std::vector<RunRecord> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    RunRecord r;
    r.id = st.column_int(0);
    r.kind = st.column_text(1);
    r.upstream = st.column_text(2);
    r.started_at = st.column_text(3);
    r.finished_at = st.column_text(4);
    r.status = st.column_text(5);
    r.exit_code = static_cast<int>(st.column_int(6));
    r.files_total = static_cast<uint64_t>(st.column_int(7));
    r.files_downloaded = static_cast<uint64_t>(st.column_int(8));
    r.bytes_downloaded = static_cast<uint64_t>(st.column_int(9));
    r.files_failed = static_cast<uint64_t>(st.column_int(10));
    r.files_removed = static_cast<uint64_t>(st.column_int(11));
    r.message = st.column_text(12);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace depot
