// PoolStore: repositories and their base distributions (schema v4, repo_bases).

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "db/sqlite.h"
#include "pool/pool_store.h"
#include "pool/pool_store_impl.h"
#include "transfer/http_util.h"

namespace depot::pool {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// A dist or component: a path under dists/ (slashes allowed, as in "bookworm/updates"), never
// "." or "..".
bool valid_segment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == ".." || s.starts_with("../") ||
      s.find("/../") != std::string_view::npos || s.ends_with("/..")) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Status insert_bases(db::Connection& c, int64_t rid, const std::vector<BaseSpec>& bases) {
  DEPOT_ASSIGN_OR_RETURN(auto del, c.prepare("DELETE FROM repo_bases WHERE repo_id = ?1"));
  del.bind(1, rid);
  DEPOT_TRY(del.exec());
  DEPOT_ASSIGN_OR_RETURN(auto ins, c.prepare("INSERT INTO repo_bases (repo_id, position, url, "
                                             "dist, components) VALUES (?1, ?2, ?3, ?4, ?5)"));
  for (size_t i = 0; i < bases.size(); ++i) {
    DEPOT_TRY(validate_base(bases[i]));
    ins.reset();
    ins.bind(1, rid).bind(2, static_cast<int64_t>(i)).bind(3, bases[i].url);
    ins.bind(4, bases[i].dist).bind(5, join(bases[i].components, ","));
    DEPOT_TRY(ins.exec());
  }
  return {};
}

}  // namespace

std::string BaseSpec::to_string() const { return url + " " + dist + " " + join(components, ","); }

void to_json(nlohmann::json& j, const BaseSpec& base) {
  j = {{"url", base.url}, {"dist", base.dist}, {"components", base.components}};
}

void from_json(const nlohmann::json& j, BaseSpec& base) {
  base.url = j.value("url", "");
  base.dist = j.value("dist", "");
  base.components.clear();
  if (auto it = j.find("components"); it != j.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (c.is_string()) base.components.push_back(c.get<std::string>());
    }
  }
}

Status validate_base(const BaseSpec& b) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "base " + b.to_string() + ": " + why);
  };
  if (b.url.empty()) return bad("no URL or directory");
  if (!is_http_url(b.url) && !b.url.starts_with("/")) {
    return bad("not an http(s) URL nor an absolute directory");
  }
  if (b.url.find_first_of(" \t\r\n") != std::string::npos) return bad("white space in the URL");
  if (!valid_segment(b.dist)) return bad("not a valid distribution name");
  if (b.components.empty()) return bad("no component");
  for (const std::string& comp : b.components) {
    if (!valid_segment(comp)) return bad("not a valid component: " + comp);
  }
  return {};
}

Status PoolStore::create_repo(std::string_view name, const std::vector<BaseSpec>& bases) {
  if (!valid_repo_name(name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "not a valid repository name: " + std::string(name));
  }
  for (const BaseSpec& b : bases) DEPOT_TRY(validate_base(b));
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  if (impl_->repo_id(name).ok()) {
    return make_error(ErrorCode::kRefused, "repository " + std::string(name) + " exists");
  }
  DEPOT_ASSIGN_OR_RETURN(
      auto st, impl_->conn.prepare("INSERT INTO repos (name, created_at) VALUES (?1, ?2)"));
  st.bind(1, name).bind(2, unix_seconds(std::chrono::system_clock::now()));
  DEPOT_TRY(st.exec());
  DEPOT_TRY(insert_bases(impl_->conn, impl_->conn.last_insert_rowid(), bases));
  return txn.commit();
}

Result<std::vector<BaseSpec>> PoolStore::bases(std::string_view repo) {
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(auto st, impl_->conn.prepare("SELECT url, dist, components FROM "
                                                      "repo_bases WHERE repo_id = ?1 ORDER BY "
                                                      "position"));
  st.bind(1, rid);
  std::vector<BaseSpec> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    BaseSpec b{st.column_text(0), st.column_text(1), {}};
    const std::string comps = st.column_text(2);
    for (size_t pos = 0; pos <= comps.size();) {
      size_t comma = std::min(comps.find(',', pos), comps.size());
      if (comma > pos) b.components.push_back(comps.substr(pos, comma - pos));
      pos = comma + 1;
    }
    out.push_back(std::move(b));
  }
  return out;
}

Status PoolStore::set_bases(std::string_view repo, const std::vector<BaseSpec>& bases) {
  for (const BaseSpec& b : bases) DEPOT_TRY(validate_base(b));
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_TRY(insert_bases(impl_->conn, rid, bases));
  return txn.commit();
}

Result<std::vector<std::string>> PoolStore::architectures(std::string_view repo) {
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(
      auto st, impl_->conn.prepare(std::string("SELECT DISTINCT "
                                               "p.architecture ") +
                                   kRepoMembers + " AND p.architecture != 'all' ORDER BY 1"));
  st.bind(1, rid);
  return st.first_column_texts();
}

}  // namespace depot::pool
