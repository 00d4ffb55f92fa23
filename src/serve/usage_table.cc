#include "serve/usage_table.h"

#include <vector>

#include "usage_schema_v1_sql.h"

namespace depot {

Result<std::unique_ptr<UsageTable>> UsageTable::open(const std::filesystem::path& db_file,
                                                     std::chrono::seconds window, Clock& clock) {
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(db_file));
  DEPOT_TRY(conn.migrate({kUsageSchemaV1}));
  std::unique_ptr<UsageTable> t(new UsageTable(std::move(conn), window, clock));
  DEPOT_TRY(t->load());
  return t;
}

Status UsageTable::load() {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement q,
      conn_.prepare("SELECT scope, name, last_used, uses FROM usage WHERE last_used >= ?1"));
  q.bind(1, now() - window_.count());
  std::lock_guard lock(mu_);
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, q.step());
    if (!row) break;
    entries_[key(q.column_text(0), q.column_text(1))] =
        Entry{q.column_int(2), static_cast<uint64_t>(q.column_int(3))};
  }
  return {};
}

std::string UsageTable::key(std::string_view scope, std::string_view name) {
  std::string k(scope);
  k += '\0';
  k += name;
  return k;
}

void UsageTable::record(std::string_view scope, std::string_view name, uint64_t uses) {
  if (name.empty() || name.size() > kMaxName || scope.size() > kMaxName) return;
  if (name.find('\0') != std::string_view::npos || scope.find('\0') != std::string_view::npos) {
    return;
  }
  const int64_t t = now();
  const std::string k = key(scope, name);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries) return;
    it = entries_.emplace(k, Entry{}).first;
  }
  it->second.last_used = t;
  it->second.uses += uses;
  dirty_.insert(it->first);
}

bool UsageTable::recently_used(std::string_view scope, std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key(scope, name));
  return it != entries_.end() && it->second.last_used >= now() - window_.count();
}

Status UsageTable::flush() {
  const int64_t oldest = now() - window_.count();
  std::vector<std::pair<std::string, Entry>> changed;
  {
    std::lock_guard lock(mu_);
    for (const std::string& k : dirty_) {
      auto it = entries_.find(k);
      if (it != entries_.end()) changed.emplace_back(k, it->second);
    }
    dirty_.clear();
    std::erase_if(entries_, [&](const auto& e) { return e.second.last_used < oldest; });
  }
  std::lock_guard lock(db_mu_);
  db::Transaction tx(conn_);
  DEPOT_TRY(tx.begin());
  DEPOT_ASSIGN_OR_RETURN(db::Statement put, conn_.prepare(
      "INSERT INTO usage (scope, name, last_used, uses) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (scope, name) DO UPDATE SET last_used = ?3, uses = ?4"));
  for (const auto& [k, e] : changed) {
    const size_t nul = k.find('\0');
    put.reset();
    put.bind(1, std::string_view(k).substr(0, nul)).bind(2, std::string_view(k).substr(nul + 1));
    put.bind(3, e.last_used).bind(4, static_cast<int64_t>(e.uses));
    DEPOT_TRY(put.exec());
  }
  DEPOT_ASSIGN_OR_RETURN(db::Statement prune,
                         conn_.prepare("DELETE FROM usage WHERE last_used < ?1"));
  prune.bind(1, oldest);
  DEPOT_TRY(prune.exec());
  return tx.commit();
}

size_t UsageTable::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace depot
