// PoolStore's repository operations: pull, promote, snapshots and rollback.
//
// Dependency resolution in promote (inside the source repository):
// - Pre-Depends and Depends of deb packages; each comma-separated entry is satisfied by its
//   first alternative the source can satisfy, with the newest version meeting the constraint.
// - A package named by the relation satisfies it when its architecture fits and its version
//   meets the constraint; otherwise a package whose Provides names it does (a versioned
//   relation only by a versioned Provides that meets it, as Policy says). Real packages are
//   preferred over providers.
// - Architecture: a relation of an arch-specific package is resolved for that architecture
//   (packages of it or "all"); one of an arch "all" package once for every architecture the
//   source holds (for "all" alone when it holds no other). ":native" is the same as no
//   qualifier, ":any" accepts every architecture (preferring the depender's), ":<arch>" that one.
// - Every relation of the closure must then hold in dest as it will be after the change, together
//   with dest's base distributions (PromoteOptions::base); every one that does not is listed.

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <tuple>

#include "core/clock.h"
#include "core/text.h"
#include "pool/deb_reader.h"
#include "pool/deb_relations.h"
#include "pool/deb_resolver.h"
#include "pool/paragraph.h"
#include "pool/pool_store.h"
#include "pool/pool_store_impl.h"

namespace depot::pool {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // format, name, architecture

Key key_of(const Package& p) { return {p.format, p.name, p.architecture}; }

PackageRef ref_of(const StoredPackage& sp) {
  return {sp.id, sp.package.name, sp.package.version, sp.package.architecture};
}

void sort_refs(std::vector<PackageRef>& v) {
  std::sort(v.begin(), v.end(), [](const PackageRef& a, const PackageRef& b) {
    if (a.name != b.name) return a.name < b.name;
    if (a.architecture != b.architecture) return a.architecture < b.architecture;
    int c = compare_versions(a.version, b.version);
    return c != 0 ? c < 0 : a.id < b.id;
  });
}

bool newer(const StoredPackage& a, const StoredPackage& b) {
  return compare_versions(a.package.version, b.package.version) > 0;
}

std::map<Key, const StoredPackage*> newest_by_key(const std::vector<StoredPackage>& pkgs) {
  std::map<Key, const StoredPackage*> out;
  for (const StoredPackage& sp : pkgs) {
    auto [it, fresh] = out.emplace(key_of(sp.package), &sp);
    if (!fresh && newer(sp, *it->second)) it->second = &sp;
  }
  return out;
}

const std::string* field(const Package& p, std::string_view name) {
  return find_field(p.fields, name);
}

// Membership changes that put each candidate in dest unless dest holds an equal or newer
// version of its key, removing dest's versions of the keys it replaces.
struct Plan {
  std::vector<int64_t> add, remove;
  ChangeReport report;
};

Plan plan_replace(const std::vector<const StoredPackage*>& candidates,
                  const std::vector<StoredPackage>& dest) {
  std::map<Key, std::vector<const StoredPackage*>> held;
  for (const StoredPackage& sp : dest) held[key_of(sp.package)].push_back(&sp);
  Plan plan;
  for (const StoredPackage* c : candidates) {
    auto it = held.find(key_of(c->package));
    if (it != held.end() &&
        std::any_of(it->second.begin(), it->second.end(),
                    [&](const StoredPackage* d) { return !newer(*c, *d); })) {
      continue;
    }
    plan.add.push_back(c->id);
    plan.report.added.push_back(ref_of(*c));
    if (it == held.end()) continue;
    for (const StoredPackage* d : it->second) {
      plan.remove.push_back(d->id);
      plan.report.removed.push_back(ref_of(*d));
      plan.report.replaced.push_back({ref_of(*d), ref_of(*c)});
    }
  }
  sort_refs(plan.report.added);
  sort_refs(plan.report.removed);
  std::sort(plan.report.replaced.begin(), plan.report.replaced.end(),
            [](const Replacement& a, const Replacement& b) {
              if (a.to.name != b.to.name) return a.to.name < b.to.name;
              if (a.to.architecture != b.to.architecture) {
                return a.to.architecture < b.to.architecture;
              }
              return compare_versions(a.from.version, b.from.version) < 0;
            });
  return plan;
}

std::vector<const StoredPackage*> pointers(const std::vector<StoredPackage>& v) {
  std::vector<const StoredPackage*> out;
  out.reserve(v.size());
  for (const StoredPackage& sp : v) out.push_back(&sp);
  return out;
}

// The repository name rules with room for a timestamp: [a-z0-9][a-z0-9._+-]*, at most 128 bytes.
bool valid_snapshot_name(std::string_view name) { return valid_pool_name(name, 128); }

std::string utc_stamp(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// Adds `sign` times the snapshot's memberships to the refcounts of their blobs.
constexpr const char* kSnapshotRefs =
    "UPDATE blobs SET refcount = refcount + ?2 * (SELECT COUNT(*) FROM snapshot_packages sp "
    "JOIN packages p ON p.id = sp.package_id WHERE sp.snapshot_id = ?1 AND p.sha256 = "
    "blobs.sha256) WHERE sha256 IN (SELECT p.sha256 FROM snapshot_packages sp JOIN packages p "
    "ON p.id = sp.package_id WHERE sp.snapshot_id = ?1)";


}  // namespace

Result<ChangeReport> PoolStore::pull(std::string_view dest, std::string_view src, bool dry_run) {
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t dest_id, impl_->repo_id(dest));
  DEPOT_ASSIGN_OR_RETURN(int64_t src_id, impl_->repo_id(src));
  DEPOT_ASSIGN_OR_RETURN(auto dest_pkgs, impl_->load_packages(kRepoMembers, dest_id));
  DEPOT_ASSIGN_OR_RETURN(auto src_pkgs, impl_->load_packages(kRepoMembers, src_id));
  std::vector<const StoredPackage*> candidates;
  for (const auto& [key, sp] : newest_by_key(src_pkgs)) candidates.push_back(sp);
  Plan plan = plan_replace(candidates, dest_pkgs);
  if (dry_run) return std::move(plan.report);  // the transaction rolls back
  DEPOT_TRY(impl_->apply_membership(dest_id, plan.add, plan.remove));
  DEPOT_TRY(txn.commit());
  impl_->log.info("repo_pull", {{"dest", std::string(dest)}, {"src", std::string(src)},
                                {"added", static_cast<uint64_t>(plan.add.size())},
                                {"removed", static_cast<uint64_t>(plan.remove.size())}});
  return std::move(plan.report);
}

Result<ChangeReport> PoolStore::promote(std::string_view dest, std::string_view src,
                                        const std::vector<std::string>& names,
                                        const PromoteOptions& opts) {
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t dest_id, impl_->repo_id(dest));
  DEPOT_ASSIGN_OR_RETURN(int64_t src_id, impl_->repo_id(src));
  DEPOT_ASSIGN_OR_RETURN(auto dest_pkgs, impl_->load_packages(kRepoMembers, dest_id));
  DEPOT_ASSIGN_OR_RETURN(auto src_pkgs, impl_->load_packages(kRepoMembers, src_id));
  const std::string src_name(src), dest_name(dest);
  auto newest = newest_by_key(src_pkgs);

  // The named packages: the newest of each name in every architecture.
  std::vector<const StoredPackage*> queue;
  std::set<int64_t> chosen;
  for (const std::string& name : names) {
    bool found = false;
    for (const auto& [key, sp] : newest) {
      if (std::get<1>(key) != name) continue;
      found = true;
      if (chosen.insert(sp->id).second) queue.push_back(sp);
    }
    if (!found) {
      return make_error(ErrorCode::kNotFound, "promote: " + src_name + " holds no package " + name);
    }
  }
  // Their closure in src.
  Resolver in_src(pointers(src_pkgs));
  for (size_t i = 0; opts.with_deps && i < queue.size(); ++i) {
    const StoredPackage& sp = *queue[i];
    if (sp.package.format != "deb") continue;
    for (const char* f : kDependencyFields) {
      const std::string* value = field(sp.package, f);
      if (!value) continue;
      auto groups = parse_relations(*value);
      if (!groups.ok()) {
        return make_error(ErrorCode::kParse, "promote: " + src_name + ": " + describe(sp) + " " +
                                                 f + ": " + groups.error().message);
      }
      for (const RelationGroup& g : *groups) {
        for (const std::string& ctx : in_src.contexts(sp)) {
          for (const Relation& alt : g.alternatives) {
            const StoredPackage* dep = in_src.resolve(alt, ctx);
            if (!dep) continue;
            if (chosen.insert(dep->id).second) queue.push_back(dep);
            break;
          }
        }
      }
    }
  }
  // One version per key: the newest chosen.
  std::map<Key, const StoredPackage*> per_key;
  for (const StoredPackage* sp : queue) {
    auto [it, fresh] = per_key.emplace(key_of(sp->package), sp);
    if (!fresh && newer(*sp, *it->second)) it->second = sp;
  }
  std::vector<const StoredPackage*> candidates;
  for (const auto& [key, sp] : per_key) candidates.push_back(sp);
  Plan plan = plan_replace(candidates, dest_pkgs);

  // Every relation of what is added must hold in dest as it will be, with its bases.
  if (opts.with_deps) {
    std::set<int64_t> removed(plan.remove.begin(), plan.remove.end());
    std::set<int64_t> added(plan.add.begin(), plan.add.end());
    std::vector<const StoredPackage*> after = opts.base, moved;
    for (const StoredPackage& sp : dest_pkgs) {
      if (!removed.count(sp.id)) after.push_back(&sp);
    }
    for (const StoredPackage* sp : queue) {
      if (added.count(sp->id)) moved.push_back(sp);  // closure order: the named ones first
    }
    after.insert(after.end(), moved.begin(), moved.end());
    Resolver in_dest(after);
    DEPOT_ASSIGN_OR_RETURN(plan.report.unresolved, unresolved_relations(moved, in_dest, in_src));
    if (!plan.report.unresolved.empty() && !opts.allow_unresolved) {
      std::string msg = "promote from " + src_name + " to " + dest_name + ": " +
                        std::to_string(plan.report.unresolved.size()) +
                        " unresolved relation(s): neither " + src_name + " nor " + dest_name +
                        " after the change" + (opts.base.empty() ? "" : " nor its bases") +
                        " satisfies them (--allow-unresolved accepts):";
      for (const UnresolvedRelation& u : plan.report.unresolved) {
        auto g = parse_relations(u.relation);
        bool in_src_ok = g.ok() && g->size() == 1 && in_src.satisfies(g->front(), u.arch);
        msg += "\n  " + u.to_string() +
               (in_src_ok ? " (" + src_name + " has it; " + dest_name + " keeps a version that "
                                                                        "does not)"
                          : "");
      }
      return make_error(ErrorCode::kRefused, msg);
    }
  }
  if (opts.dry_run) return std::move(plan.report);  // the transaction rolls back
  DEPOT_TRY(impl_->apply_membership(dest_id, plan.add, plan.remove));
  DEPOT_TRY(txn.commit());
  impl_->log.info("repo_promote", {{"dest", dest_name}, {"src", src_name},
                                   {"added", static_cast<uint64_t>(plan.add.size())},
                                   {"removed", static_cast<uint64_t>(plan.remove.size())},
                                   {"unresolved",
                                    static_cast<uint64_t>(plan.report.unresolved.size())}});
  return std::move(plan.report);
}

Result<std::string> PoolStore::snapshot(std::string_view repo, std::string_view name) {
  db::Connection& c = impl_->conn;
  db::Transaction txn(c);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(auto taken, c.prepare("SELECT 1 FROM snapshots WHERE name = ?1"));
  auto exists = [&](const std::string& n) -> Result<bool> {
    taken.reset();
    taken.bind(1, n);
    return taken.step();
  };
  const int64_t now = unix_seconds(std::chrono::system_clock::now());
  std::string chosen(name);
  if (chosen.empty()) {
    const std::string base = std::string(repo) + "-" + utc_stamp(static_cast<std::time_t>(now));
    chosen = base;
    for (int n = 2;; ++n) {
      DEPOT_ASSIGN_OR_RETURN(bool t, exists(chosen));
      if (!t) break;
      chosen = base + "-" + std::to_string(n);
    }
  } else {
    if (!valid_snapshot_name(chosen)) {
      return make_error(ErrorCode::kInvalidArgument, "not a valid snapshot name: " + chosen);
    }
    DEPOT_ASSIGN_OR_RETURN(bool t, exists(chosen));
    if (t) return make_error(ErrorCode::kRefused, "snapshot " + chosen + " exists");
  }
  {
    DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare("INSERT INTO snapshots (name, repo_id, created_at) "
                                              "VALUES (?1, ?2, ?3)"));
    st.bind(1, chosen).bind(2, rid).bind(3, now);
    DEPOT_TRY(st.exec());
  }
  const int64_t sid = c.last_insert_rowid();
  {
    DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare("INSERT INTO snapshot_packages (snapshot_id, "
                                              "package_id) SELECT ?1, package_id FROM "
                                              "repo_packages WHERE repo_id = ?2"));
    st.bind(1, sid).bind(2, rid);
    DEPOT_TRY(st.exec());
  }
  DEPOT_ASSIGN_OR_RETURN(auto refs, c.prepare(kSnapshotRefs));
  refs.bind(1, sid).bind(2, int64_t{1});
  DEPOT_TRY(refs.exec());
  DEPOT_TRY(txn.commit());
  impl_->log.info("repo_snapshot", {{"repo", std::string(repo)}, {"snapshot", chosen}});
  return chosen;
}

Result<std::vector<SnapshotInfo>> PoolStore::snapshots(std::string_view repo) {
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(
      auto st, impl_->conn.prepare("SELECT s.name, s.created_at, (SELECT COUNT(*) FROM "
                                   "snapshot_packages sp WHERE sp.snapshot_id = s.id) FROM "
                                   "snapshots s WHERE s.repo_id = ?1 ORDER BY s.created_at, s.id"));
  st.bind(1, rid);
  std::vector<SnapshotInfo> out;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back({st.column_text(0), std::string(repo), st.column_int(1),
                   static_cast<uint64_t>(st.column_int(2))});
  }
  return out;
}

namespace {

struct SnapshotRow {
  int64_t id = 0;
  int64_t repo_id = 0;
};

Result<SnapshotRow> find_snapshot(db::Connection& c, std::string_view name) {
  DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare("SELECT id, repo_id FROM snapshots WHERE name = ?1"));
  st.bind(1, name);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no snapshot named " + std::string(name));
  return SnapshotRow{st.column_int(0), st.column_int(1)};
}

}  // namespace

Result<std::vector<StoredPackage>> PoolStore::snapshot_list(std::string_view snapshot) {
  DEPOT_ASSIGN_OR_RETURN(SnapshotRow s, find_snapshot(impl_->conn, snapshot));
  return impl_->load_packages(kSnapshotMembers, s.id);
}

Result<ChangeReport> PoolStore::rollback(std::string_view repo, std::string_view snapshot) {
  db::Transaction txn(impl_->conn);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(int64_t rid, impl_->repo_id(repo));
  DEPOT_ASSIGN_OR_RETURN(SnapshotRow s, find_snapshot(impl_->conn, snapshot));
  if (s.repo_id != rid) {
    return make_error(ErrorCode::kRefused, "snapshot " + std::string(snapshot) +
                                               " is not a snapshot of " + std::string(repo));
  }
  DEPOT_ASSIGN_OR_RETURN(auto current, impl_->load_packages(kRepoMembers, rid));
  DEPOT_ASSIGN_OR_RETURN(auto target, impl_->load_packages(kSnapshotMembers, s.id));
  std::set<int64_t> in_current, in_target;
  for (const StoredPackage& sp : current) in_current.insert(sp.id);
  for (const StoredPackage& sp : target) in_target.insert(sp.id);
  std::vector<int64_t> add, remove;
  ChangeReport report;
  for (const StoredPackage& sp : target) {
    if (in_current.count(sp.id)) continue;
    add.push_back(sp.id);
    report.added.push_back(ref_of(sp));
  }
  for (const StoredPackage& sp : current) {
    if (in_target.count(sp.id)) continue;
    remove.push_back(sp.id);
    report.removed.push_back(ref_of(sp));
  }
  sort_refs(report.added);
  sort_refs(report.removed);
  DEPOT_TRY(impl_->apply_membership(rid, add, remove));
  DEPOT_TRY(txn.commit());
  impl_->log.info("repo_rollback", {{"repo", std::string(repo)},
                                    {"snapshot", std::string(snapshot)},
                                    {"added", static_cast<uint64_t>(add.size())},
                                    {"removed", static_cast<uint64_t>(remove.size())}});
  return report;
}

Status PoolStore::drop_snapshot(std::string_view snapshot) {
  db::Connection& c = impl_->conn;
  db::Transaction txn(c);
  DEPOT_TRY(txn.begin());
  DEPOT_ASSIGN_OR_RETURN(SnapshotRow s, find_snapshot(c, snapshot));
  {
    DEPOT_ASSIGN_OR_RETURN(auto refs, c.prepare(kSnapshotRefs));
    refs.bind(1, s.id).bind(2, int64_t{-1});
    DEPOT_TRY(refs.exec());
  }
  for (const char* sql : {"DELETE FROM snapshot_packages WHERE snapshot_id = ?1",
                          "DELETE FROM snapshots WHERE id = ?1"}) {
    DEPOT_ASSIGN_OR_RETURN(auto st, c.prepare(sql));
    st.bind(1, s.id);
    DEPOT_TRY(st.exec());
  }
  DEPOT_TRY(txn.commit());
  impl_->log.info("repo_snapshot_dropped", {{"snapshot", std::string(snapshot)}});
  return {};
}

}  // namespace depot::pool
