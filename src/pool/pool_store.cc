#include "pool/pool_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/unique_fd.h"
#include "db/sqlite.h"
#include "pool/paragraph.h"
#include "pool/pool_store_impl.h"
#include "pool_schema_v1_sql.h"
#include "pool_schema_v2_sql.h"
#include "pool_schema_v3_sql.h"
#include "pool_schema_v4_sql.h"

namespace depot::pool {
namespace fs = std::filesystem;

namespace {

constexpr size_t kCopyChunk = 1 << 20;

Error io_error(const std::string& what) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

int64_t now_unix() { return unix_seconds(std::chrono::system_clock::now()); }

// A lowercase sha256 hex digest, as every stored path and row uses.
bool is_sha256_hex(std::string_view s) {
  auto hex = normalize_hex_digest(DigestAlgo::kSha256, s);
  return hex.ok() && *hex == s;
}

// Rows written before schema v3 hold their fields as a JSON array of [name, value] pairs.
Result<FieldList> fields_from_json(std::string_view json, const std::string& what) {
  nlohmann::json a = nlohmann::json::parse(json, nullptr, false);
  if (!a.is_array()) return make_error(ErrorCode::kParse, what + ": malformed fields");
  FieldList out;
  for (const auto& kv : a) {
    if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string()) {
      out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  return out;
}

// Converts v1/v2 rows (paragraph NULL) to the v3 form in one transaction. A row whose JSON
// does not parse is left as it is and logged; reading that package reports it.
Status convert_json_fields(db::Connection& c, Logger& log) {
  DEPOT_ASSIGN_OR_RETURN(auto sel,
                         c.prepare("SELECT id, fields FROM packages WHERE paragraph IS NULL"));
  std::vector<std::pair<int64_t, std::string>> rows;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, sel.step());
    if (!row) break;
    rows.emplace_back(sel.column_int(0), sel.column_text(1));
  }
  if (rows.empty()) return {};
  db::Transaction txn(c);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(auto upd,
                         c.prepare("UPDATE packages SET paragraph = ?2, fields = '' WHERE id = ?1"));
  for (const auto& [id, json] : rows) {
    auto fields = fields_from_json(json, c.path() + ": package " + std::to_string(id));
    if (!fields.ok()) {
      log.warn("package_fields_unreadable", {{"error", fields.error().message}});
      continue;
    }
    upd.reset();
    upd.bind(1, id).bind(2, fields_to_text(*fields));
    DEPOT_TRY(upd.exec());
  }
  return txn.commit();
}

}  // namespace

PoolStore::PoolStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PoolStore::~PoolStore() = default;

Result<std::unique_ptr<PoolStore>> PoolStore::open(const fs::path& root, Logger& logger) {
  std::error_code ec;
  fs::create_directories(root / "pool" / ".tmp", ec);
  if (ec) return make_error(ErrorCode::kIo, (root / "pool").string() + ": " + ec.message());
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(root / "depot.db"));
  DEPOT_TRY(conn.migrate({kPoolSchemaV1, kPoolSchemaV2, kPoolSchemaV3, kPoolSchemaV4}));
  DEPOT_TRY(convert_json_fields(conn, logger));
  return std::unique_ptr<PoolStore>(
      new PoolStore(std::make_unique<Impl>(root, std::move(conn), logger)));
}

fs::path PoolStore::Impl::blob_path(std::string_view sha256) const {
  std::string h(sha256);
  return pool_dir() / h.substr(0, 2) / h.substr(2, 2) / h;
}

fs::path PoolStore::blob_path(std::string_view sha256) const { return impl_->blob_path(sha256); }

bool valid_pool_name(std::string_view name, size_t max_size) {
  if (name.empty() || name.size() > max_size) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '+' && c != '-'))) return false;
  }
  return true;
}

bool PoolStore::valid_repo_name(std::string_view name) { return valid_pool_name(name, 64); }

Status PoolStore::Impl::copy_verified(const Package& pkg, const fs::path& src,
                                      const fs::path& dst_tmp, bool sync) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return io_error(src.string());
  UniqueFd out(::open(dst_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!out.valid()) return io_error(dst_tmp.string());
  Hasher hasher(Hasher::kAllAlgorithms);
  std::string buf(kCopyChunk, '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(src.string());
    if (n == 0) break;
    hasher.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out.get(), buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return io_error(dst_tmp.string());
      off += w;
    }
    total += static_cast<uint64_t>(n);
  }
  if (total != pkg.file.size) {
    return make_error(ErrorCode::kSizeMismatch,
                      src.string() + ": " + std::to_string(total) + " bytes, expected " +
                          std::to_string(pkg.file.size));
  }
  DEPOT_TRY(pkg.file.digests.verify(hasher.finish(), src.string()));
  if (sync && ::fsync(out.get()) != 0) return io_error(dst_tmp.string() + ": fsync");
  return {};
}

Result<std::optional<int64_t>> PoolStore::Impl::existing_package(const Package& pkg,
                                                                   const fs::path& file) {
  const std::string& sha = pkg.file.digests.sha256;
  if (!is_sha256_hex(sha)) {
    return make_error(ErrorCode::kInvalidArgument, file.string() + ": no valid sha256");
  }
  DEPOT_ASSIGN_OR_RETURN(auto st, conn.prepare("SELECT id, sha256 FROM packages WHERE format = ?1 "
                                               "AND name = ?2 AND version = ?3 AND architecture = ?4"));
  st.bind(1, pkg.format).bind(2, pkg.name).bind(3, pkg.version).bind(4, pkg.architecture);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return std::optional<int64_t>();
  if (st.column_text(1) == sha) return std::optional<int64_t>(st.column_int(0));
  return make_error(ErrorCode::kRefused,
                    file.string() + ": " + pkg.name + " " + pkg.version + " " + pkg.architecture +
                        " is already in the pool with other content (sha256 " +
                        st.column_text(1) + ", this file " + sha + ")");
}

Status PoolStore::Impl::store_file(const Package& pkg, const fs::path& file, bool sync) {
  const std::string& sha = pkg.file.digests.sha256;
  const fs::path dst = blob_path(sha);
  struct stat existing {};
  if (::stat(dst.c_str(), &existing) == 0 &&
      static_cast<uint64_t>(existing.st_size) == pkg.file.size) {
    return {};
  }
  fs::path tmp = tmp_dir() / (sha + "." + std::to_string(::getpid()));
  ::unlink(tmp.c_str());
  Status copied = copy_verified(pkg, file, tmp, sync);
  if (!copied.ok()) {
    ::unlink(tmp.c_str());
    return copied.error();
  }
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, dst.parent_path().string() + ": " + ec.message());
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    Error e = io_error(dst.string());
    ::unlink(tmp.c_str());
    return e;
  }
  if (sync) DEPOT_TRY(fsync_directory(dst.parent_path()));
  return {};
}

Result<int64_t> PoolStore::Impl::insert_package(const Package& pkg) {
  {
    DEPOT_ASSIGN_OR_RETURN(auto st, conn.prepare("INSERT OR IGNORE INTO blobs (sha256, size) "
                                                 "VALUES (?1, ?2)"));
    st.bind(1, pkg.file.digests.sha256).bind(2, static_cast<int64_t>(pkg.file.size));
    DEPOT_TRY(st.exec());
  }
  DEPOT_ASSIGN_OR_RETURN(
      auto st, conn.prepare("INSERT INTO packages (format, name, version, architecture, filename, "
                            "size, md5, sha1, sha256, sha512, fields, paragraph, imported_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '', ?11, ?12)"));
  st.bind(1, pkg.format).bind(2, pkg.name).bind(3, pkg.version).bind(4, pkg.architecture);
  st.bind(5, pkg.file.filename).bind(6, static_cast<int64_t>(pkg.file.size));
  st.bind(7, pkg.file.digests.md5).bind(8, pkg.file.digests.sha1);
  st.bind(9, pkg.file.digests.sha256).bind(10, pkg.file.digests.sha512);
  st.bind(11, fields_to_text(pkg.fields)).bind(12, now_unix());
  DEPOT_TRY(st.exec());
  return conn.last_insert_rowid();
}

Result<int64_t> PoolStore::import(const Package& pkg, const fs::path& file) {
  // Idempotence and conflicts first: nothing is copied for a package that is already there.
  DEPOT_ASSIGN_OR_RETURN(std::optional<int64_t> existing, impl_->existing_package(pkg, file));
  if (existing) return *existing;
  DEPOT_TRY(impl_->store_file(pkg, file, /*sync=*/true));
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t id, impl_->insert_package(pkg));
  DEPOT_TRY(txn.commit());
  return id;
}

Result<std::vector<int64_t>> PoolStore::import_many(std::span<const ImportItem> items) {
  std::vector<std::optional<int64_t>> ids(items.size());
  std::map<std::tuple<std::string, std::string, std::string, std::string>, size_t> in_batch;
  std::vector<size_t> fresh;  // items to store, the first of each package
  for (size_t i = 0; i < items.size(); ++i) {
    const Package& p = *items[i].package;
    DEPOT_ASSIGN_OR_RETURN(ids[i], impl_->existing_package(p, items[i].file));
    if (ids[i]) continue;
    auto [it, first] = in_batch.try_emplace({p.format, p.name, p.version, p.architecture}, i);
    if (first) {
      fresh.push_back(i);
    } else if (items[it->second].package->file.digests.sha256 != p.file.digests.sha256) {
      return make_error(ErrorCode::kRefused,
                        items[i].file.string() + ": " + p.name + " " + p.version + " " +
                            p.architecture + " is also " + items[it->second].file.string() +
                            ", with other content");
    }
  }
  for (size_t i : fresh) {
    DEPOT_TRY(impl_->store_file(*items[i].package, items[i].file, /*sync=*/false));
  }
  if (!fresh.empty()) DEPOT_TRY(sync_filesystem(impl_->pool_dir()));
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  for (size_t i : fresh) {
    DEPOT_ASSIGN_OR_RETURN(ids[i], impl_->insert_package(*items[i].package));
  }
  DEPOT_TRY(txn.commit());
  std::vector<int64_t> out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!ids[i]) {  // a repeat within the batch
      const Package& p = *items[i].package;
      ids[i] = ids[in_batch.at({p.format, p.name, p.version, p.architecture})];
    }
    out.push_back(*ids[i]);
  }
  return out;
}

Result<int64_t> PoolStore::Impl::repo_id(std::string_view name) {
  DEPOT_ASSIGN_OR_RETURN(auto st, conn.prepare("SELECT id FROM repos WHERE name = ?1"));
  st.bind(1, name);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no repository named " + std::string(name));
  return st.column_int(0);
}

Result<std::vector<std::string>> PoolStore::repos() {
  DEPOT_ASSIGN_OR_RETURN(auto st, impl_->conn.prepare("SELECT name FROM repos ORDER BY name"));
  return st.first_column_texts();
}

Status PoolStore::change_membership(std::string_view repo, const std::vector<int64_t>& add,
                                    const std::vector<int64_t>& remove) {
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_TRY(impl_->apply_membership(rid, add, remove));
  return txn.commit();
}

Status PoolStore::Impl::apply_membership(int64_t rid, const std::vector<int64_t>& add,
                                         const std::vector<int64_t>& remove) {
  db::Connection& c = conn;
  DEPOT_ASSIGN_OR_RETURN(auto blob_of, c.prepare("SELECT sha256 FROM packages WHERE id = ?1"));
  DEPOT_ASSIGN_OR_RETURN(auto ins, c.prepare("INSERT OR IGNORE INTO repo_packages (repo_id, "
                                             "package_id) VALUES (?1, ?2)"));
  DEPOT_ASSIGN_OR_RETURN(auto del, c.prepare("DELETE FROM repo_packages WHERE repo_id = ?1 AND "
                                             "package_id = ?2"));
  DEPOT_ASSIGN_OR_RETURN(auto ref, c.prepare("UPDATE blobs SET refcount = refcount + ?1 WHERE "
                                             "sha256 = ?2"));
  auto adjust = [&](db::Statement& change, int64_t id, int64_t delta) -> Status {
    blob_of.reset();
    blob_of.bind(1, id);
    DEPOT_ASSIGN_OR_RETURN(bool row, blob_of.step());
    if (!row) return make_error(ErrorCode::kNotFound, "no package with id " + std::to_string(id));
    std::string sha = blob_of.column_text(0);
    change.reset();
    change.bind(1, rid).bind(2, id);
    DEPOT_TRY(change.exec());
    if (c.changes() == 0) return {};  // already so
    ref.reset();
    ref.bind(1, delta).bind(2, sha);
    return ref.exec();
  };
  for (int64_t id : remove) DEPOT_TRY(adjust(del, id, -1));
  for (int64_t id : add) DEPOT_TRY(adjust(ins, id, +1));
  return {};
}

namespace {

// filename, size, md5, sha1, sha256, sha512 from columns col..col+5.
void read_package_file(const db::Statement& st, int col, PackageFile& f) {
  f.filename = st.column_text(col);
  f.size = static_cast<uint64_t>(st.column_int(col + 1));
  f.digests.md5 = st.column_text(col + 2);
  f.digests.sha1 = st.column_text(col + 3);
  f.digests.sha256 = st.column_text(col + 4);
  f.digests.sha512 = st.column_text(col + 5);
}

}  // namespace

Result<StoredPackage> PoolStore::Impl::row_to_package(db::Statement& st) {
  StoredPackage sp;
  sp.id = st.column_int(0);
  Package& p = sp.package;
  p.format = st.column_text(1);
  p.name = st.column_text(2);
  p.version = st.column_text(3);
  p.architecture = st.column_text(4);
  read_package_file(st, 5, p.file);
  const std::string what = conn.path() + ": package " + std::to_string(sp.id);
  if (st.column_is_null(11)) return make_error(ErrorCode::kParse, what + ": malformed fields");
  DEPOT_ASSIGN_OR_RETURN(p.fields, text_to_fields(st.column_text(11), what));
  return sp;
}

constexpr const char* kPackageColumns =
    "p.id, p.format, p.name, p.version, p.architecture, p.filename, p.size, p.md5, p.sha1, "
    "p.sha256, p.sha512, p.paragraph";

Result<std::vector<StoredPackage>> PoolStore::Impl::load_packages(std::string_view from_where,
                                                                   int64_t key) {
  DEPOT_ASSIGN_OR_RETURN(auto st, conn.prepare(std::string("SELECT ") + kPackageColumns + " " +
                                               std::string(from_where) +
                                               " ORDER BY p.name, p.version, p.architecture"));
  st.bind(1, key);
  std::vector<StoredPackage> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    DEPOT_ASSIGN_OR_RETURN(StoredPackage sp, row_to_package(st));
    out.push_back(std::move(sp));
  }
  return out;
}

Result<std::vector<StoredPackage>> PoolStore::list(std::string_view repo) {
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  return impl_->load_packages(kRepoMembers, rid);
}

Result<std::vector<PackageText>> PoolStore::list_texts(std::string_view repo) {
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(
      auto st, impl_->conn.prepare(std::string("SELECT p.name, p.version, p.architecture, "
                                               "p.filename, p.size, p.md5, p.sha1, p.sha256, "
                                               "p.sha512, p.paragraph ") +
                                   kRepoMembers));
  st.bind(1, rid);
  std::vector<PackageText> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    PackageText& p = out.emplace_back();
    p.name = st.column_text(0);
    p.version = st.column_text(1);
    p.architecture = st.column_text(2);
    read_package_file(st, 3, p.file);
    if (st.column_is_null(9)) {
      return make_error(ErrorCode::kParse, impl_->conn.path() + ": package " + p.name + " " +
                                               p.version + " " + p.architecture +
                                               ": malformed fields");
    }
    p.paragraph = st.column_text(9);
  }
  return out;
}

Result<StoredPackage> PoolStore::get(int64_t id) {
  DEPOT_ASSIGN_OR_RETURN(auto st, impl_->conn.prepare(std::string("SELECT ") + kPackageColumns +
                                                      " FROM packages p WHERE p.id = ?1"));
  st.bind(1, id);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no package with id " + std::to_string(id));
  return impl_->row_to_package(st);
}

Result<GcReport> PoolStore::gc(bool dry_run) {
  GcReport report;
  db::Connection& c = impl_->conn;
  db::Transaction txn(c);
  DEPOT_TRY(txn.begin());
  // 1. Refcounts recomputed from the repository and snapshot memberships.
  const char* kCounted =
      "((SELECT COUNT(*) FROM repo_packages rp JOIN packages p ON p.id = rp.package_id "
      "WHERE p.sha256 = blobs.sha256) + (SELECT COUNT(*) FROM snapshot_packages sp JOIN "
      "packages p ON p.id = sp.package_id WHERE p.sha256 = blobs.sha256))";
  {
    DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare(std::string("SELECT COUNT(*) FROM blobs WHERE "
                                                          "refcount != ") + kCounted));
    DEPOT_TRY(st.step());
    report.refcounts_repaired = static_cast<uint64_t>(st.column_int(0));
  }
  if (!dry_run && report.refcounts_repaired) {
    DEPOT_TRY(c.exec(std::string("UPDATE blobs SET refcount = ") + kCounted));
  }
  // 2. Unreferenced blobs.
  std::vector<std::pair<std::string, uint64_t>> dead;
  std::set<std::string> known;
  {
    DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare(std::string("SELECT sha256, size, ") + kCounted +
                                              " FROM blobs"));
    for (;;) {
      DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      std::string sha = st.column_text(0);
      if (st.column_int(2) == 0) {
        dead.emplace_back(sha, static_cast<uint64_t>(st.column_int(1)));
      } else {
        known.insert(sha);
      }
    }
  }
  for (const auto& [sha, size] : dead) {
    DEPOT_ASSIGN_OR_RETURN(auto count, c.prepare("SELECT COUNT(*) FROM packages WHERE sha256 = ?1"));
    count.bind(1, sha);
    DEPOT_TRY(count.step());
    report.packages_removed += static_cast<uint64_t>(count.column_int(0));
    report.blobs_removed++;
    report.bytes_removed += size;
    if (dry_run) continue;
    DEPOT_ASSIGN_OR_RETURN(auto dp, c.prepare("DELETE FROM packages WHERE sha256 = ?1"));
    dp.bind(1, sha);
    DEPOT_TRY(dp.exec());
    DEPOT_ASSIGN_OR_RETURN(auto db, c.prepare("DELETE FROM blobs WHERE sha256 = ?1"));
    db.bind(1, sha);
    DEPOT_TRY(db.exec());
  }
  // 3. Rows whose file is gone.
  for (const std::string& sha : known) {
    struct stat st {};
    if (::stat(blob_path(sha).c_str(), &st) != 0) report.missing.push_back(sha);
  }
  DEPOT_TRY(txn.commit());
  // Files go only after the rows are gone: a crash here leaves strays, never rows without files.
  if (!dry_run) {
    for (const auto& [sha, size] : dead) ::unlink(blob_path(sha).c_str());
  }
  // 4. Strays and temporaries.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(impl_->pool_dir(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& e = *it;
    if (e.is_directory(ec) && !e.is_symlink(ec)) continue;
    std::string name = e.path().filename().string();
    bool in_tmp = e.path().parent_path() == impl_->tmp_dir();
    bool dead_blob = std::any_of(dead.begin(), dead.end(),
                                 [&](const auto& d) { return d.first == name; });
    if (!in_tmp && (known.count(name) || dead_blob) && e.path() == blob_path(name)) continue;
    report.strays_removed++;
    if (!dry_run) fs::remove(e.path(), ec);
  }
  if (!report.clean()) {
    impl_->log.info("pool_gc", {{"blobs_removed", report.blobs_removed},
                                {"bytes_removed", report.bytes_removed},
                                {"strays_removed", report.strays_removed},
                                {"refcounts_repaired", report.refcounts_repaired},
                                {"missing", static_cast<uint64_t>(report.missing.size())},
                                {"dry_run", dry_run ? "yes" : "no"}});
  }
  return report;
}

}  // namespace depot::pool
