#include "pool/daemon.h"

#include <malloc.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "pool/deb_reader.h"
#include "pool/deb_resolver.h"

namespace depot::pool {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kLargeJobArgs = 1 << 20;

std::string ref_text(const PackageRef& r) {
  return r.name + " " + r.version + " " + r.architecture;
}

json unresolved_json(const std::vector<UnresolvedRelation>& v) {
  json a = json::array();
  for (const UnresolvedRelation& u : v) a.push_back(u.to_string());
  return a;
}

json change_json(const ChangeReport& c) {
  auto refs = [](const std::vector<PackageRef>& v) {
    json a = json::array();
    for (const PackageRef& r : v) a.push_back(ref_text(r));
    return a;
  };
  json replaced = json::array();
  for (const Replacement& r : c.replaced) {
    replaced.push_back({{"from", ref_text(r.from)}, {"to", ref_text(r.to)}});
  }
  return json{{"added", refs(c.added)},
              {"removed", refs(c.removed)},
              {"replaced", replaced},
              {"unresolved", unresolved_json(c.unresolved)}};
}

std::vector<std::string> strings_of(const json& a, const char* key) {
  std::vector<std::string> out;
  if (auto it = a.find(key); it != a.end() && it->is_array()) {
    for (const auto& n : *it) {
      if (n.is_string()) out.push_back(n.get<std::string>());
    }
  }
  return out;
}

// The bases of job arguments, as the routes checked them.
std::vector<BaseSpec> bases_of(const json& a) {
  std::vector<BaseSpec> out;
  if (auto it = a.find("bases"); it != a.end() && it->is_array()) {
    for (const auto& b : *it) {
      if (!b.is_object()) continue;
      out.push_back(b.get<BaseSpec>());
    }
  }
  return out;
}

// The JSON arguments of a job; a malformed document is a kInvalidArgument error.
Result<json> args_of(const Job& job) {
  json a = json::parse(job.args, nullptr, false);
  if (!a.is_object()) return make_error(ErrorCode::kInvalidArgument, "job arguments are not a JSON object");
  return a;
}

std::string str(const json& a, const char* key) {
  auto it = a.find(key);
  return it != a.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& a, const char* key) {
  auto it = a.find(key);
  return it != a.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

Daemon::Daemon(const DaemonOptions& options, Logger& logger) : opts_(options), log_(logger) {
  if (opts_.publish.public_dir.empty()) opts_.publish.public_dir = opts_.root / "public";
  work_ = std::make_unique<WorkPool>(std::max(1u, opts_.workers) - 1);
  chunks_ = std::make_unique<ChunkCache>(opts_.root / "cache" / "index-chunks");
  opts_.publish.index.pool = work_.get();
  opts_.publish.index.cache = chunks_.get();
  bases_ = std::make_unique<BaseIndexCache>(logger);
  if (opts_.pdiff_generations > 0) {
    pdiffs_ = std::make_unique<PdiffStore>(opts_.root / "pdiff", opts_.pdiff_generations, log_);
    opts_.publish.index.extras = [p = pdiffs_.get()](const std::string& suite,
                                                     const std::string& dir,
                                                     const Digests& packages) {
      return p->files_for(suite, dir, packages);
    };
  }
}

Daemon::~Daemon() { stop(); }

Result<std::unique_ptr<Daemon>> Daemon::open(const DaemonOptions& options, Logger& logger) {
  std::unique_ptr<Daemon> d(new Daemon(options, logger));
  DEPOT_ASSIGN_OR_RETURN(d->store_, PoolStore::open(options.root, logger));
  DEPOT_ASSIGN_OR_RETURN(d->reader_, PoolStore::open(options.root, logger));
  DEPOT_ASSIGN_OR_RETURN(d->jobs_, JobQueue::open(options.root / "jobs.db",
                                                  std::max(1u, options.workers), logger));
  DEPOT_TRY(d->register_handlers());
  return d;
}

Status Daemon::start() {
  prune_jobs();
  return jobs_->start();
}

void Daemon::prune_jobs() {
  if (auto n = jobs_->prune(opts_.job_history); n.ok() && *n > 0) {
    log_.info("jobs_pruned", {{"jobs", *n}});
  }
}

void Daemon::stop() {
  if (jobs_) jobs_->stop();
}

Result<PublishReport> Daemon::publish(const std::string& repo, bool pdiffs) {
  DEPOT_ASSIGN_OR_RETURN(PublishReport r, publish_repo(*store_, repo, opts_.publish));
  log_.info("published", {{"repo", repo},
                          {"generation", r.generation},
                          {"packages", r.packages},
                          {"pool_links", r.pool_links},
                          {"carried", r.carried_files},
                          {"pool_removed", r.pool_removed},
                          {"chunks_compressed", r.chunks_compressed},
                          {"chunks_reused", r.chunks_reused}});
  if (uint64_t n = chunks_->prune(opts_.chunk_cache_ttl); n > 0) {
    log_.info("chunk_cache_pruned", {{"files", n}});
  }
  prune_jobs();
  if (pdiffs && pdiffs_) {
    auto id = jobs_->submit("pdiff", json{{"repo", repo}, {"generation", r.generation}}.dump());
    if (!id.ok()) log_.warn("pdiff_not_queued", {{"repo", repo}, {"error", id.error().message}});
  }
  return r;
}

Result<std::vector<UnresolvedRelation>> Daemon::check_import(
    const std::string& repo, const std::vector<std::pair<Package, std::string>>& debs,
    const std::vector<StoredPackage>& current, bool allow_unresolved) {
  std::vector<StoredPackage> incoming;
  std::vector<std::string> archs;
  for (const auto& [p, file] : debs) {
    incoming.push_back({0, p});
    archs.push_back(p.architecture);
  }
  DEPOT_ASSIGN_OR_RETURN(std::vector<BaseSpec> bases, store_->bases(repo));
  if (bases.empty()) return std::vector<UnresolvedRelation>{};  // no bases: no check
  std::vector<std::shared_ptr<const BasePackages>> held;
  std::vector<const StoredPackage*> available;
  DEPOT_TRY(base_packages(repo, "", archs, held, available));
  // The repository after the import: a newer import replaces older versions of its key.
  std::map<std::pair<std::string, std::string>, std::string> newest;
  for (const StoredPackage& sp : incoming) {
    auto [it, fresh] = newest.emplace(std::pair{sp.package.name, sp.package.architecture},
                                      sp.package.version);
    if (!fresh && compare_versions(sp.package.version, it->second) > 0) {
      it->second = sp.package.version;
    }
  }
  for (const StoredPackage& sp : current) {
    auto it = newest.find({sp.package.name, sp.package.architecture});
    if (it == newest.end() || compare_versions(sp.package.version, it->second) >= 0) {
      available.push_back(&sp);
    }
  }
  std::vector<const StoredPackage*> added;
  for (const StoredPackage& sp : incoming) added.push_back(&sp);
  available.insert(available.end(), added.begin(), added.end());
  Resolver in_repo(available);
  DEPOT_ASSIGN_OR_RETURN(auto unresolved, unresolved_relations(added, in_repo, in_repo));
  if (unresolved.empty() || allow_unresolved) return unresolved;
  std::string msg = "import into " + repo + ": " + std::to_string(unresolved.size()) +
                    " unresolved relation(s): neither the imported packages nor " + repo +
                    " nor its bases satisfy them (--allow-unresolved accepts):";
  for (const UnresolvedRelation& u : unresolved) msg += "\n  " + u.to_string();
  return make_error(ErrorCode::kRefused, msg);
}

Status Daemon::base_packages(const std::string& repo, const std::string& other,
                             std::vector<std::string> archs,
                             std::vector<std::shared_ptr<const BasePackages>>& held,
                             std::vector<const StoredPackage*>& out) {
  DEPOT_ASSIGN_OR_RETURN(std::vector<BaseSpec> bases, store_->bases(repo));
  if (bases.empty()) return {};
  for (const std::string& r : {repo, other}) {
    if (r.empty()) continue;
    DEPOT_ASSIGN_OR_RETURN(std::vector<std::string> a, store_->architectures(r));
    archs.insert(archs.end(), a.begin(), a.end());
  }
  std::sort(archs.begin(), archs.end());
  archs.erase(std::unique(archs.begin(), archs.end()), archs.end());
  std::erase(archs, std::string("all"));
  for (const BaseSpec& b : bases) {
    DEPOT_ASSIGN_OR_RETURN(auto indexes, bases_->load(b, archs));
    for (auto& index : indexes) {
      for (const StoredPackage& sp : *index) out.push_back(&sp);
      held.push_back(std::move(index));
    }
  }
  return {};
}

Status Daemon::register_pdiff_handlers() {
  auto generation_of = [](const json& a) -> uint64_t {
    auto it = a.find("generation");
    return it != a.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  // Worker lane: builds links and index files; no store access.
  DEPOT_TRY(jobs_->register_handler(
      "pdiff", JobLane::kWorker, [this, generation_of](const Job& job) -> Result<std::string> {
        DEPOT_ASSIGN_OR_RETURN(json a, args_of(job));
        const std::string repo = str(a, "repo");
        const uint64_t gen = generation_of(a);
        const fs::path& pub = opts_.publish.public_dir;
        auto current = [&] { return published_generation(pub, repo) == gen; };
        if (!pdiffs_ || !PoolStore::valid_repo_name(repo) || !current()) {
          return json{{"repo", repo}, {"superseded", true}}.dump();
        }
        const fs::path dists = pub / ".generations" / repo / std::to_string(gen) / "dists" / repo;
        DEPOT_ASSIGN_OR_RETURN(PdiffUpdate u, pdiffs_->update(repo, dists, current));
        const bool superseded = u.superseded || !current();
        json out{{"repo", repo},
                 {"generation", gen},
                 {"indexes_changed", u.indexes_changed},
                 {"links_built", u.links_built},
                 {"links_dropped", u.links_dropped},
                 {"superseded", superseded}};
        log_.info("pdiffs_built", {{"repo", repo}, {"generation", gen},
                                   {"indexes_changed", u.indexes_changed},
                                   {"links_built", u.links_built},
                                   {"links_dropped", u.links_dropped}});
        if (!superseded && pdiffs_->publication_due(repo, dists)) {
          DEPOT_ASSIGN_OR_RETURN(int64_t id, jobs_->submit("publish_pdiffs", a.dump()));
          out["publish_job"] = id;
        }
        return out.dump();
      }));
  // Mutation lane: the same packages published again, now with their Packages.diff/.
  return jobs_->register_handler(
      "publish_pdiffs", JobLane::kMutation,
      [this, generation_of](const Job& job) -> Result<std::string> {
        DEPOT_ASSIGN_OR_RETURN(json a, args_of(job));
        const std::string repo = str(a, "repo");
        std::lock_guard lock(store_mu_);
        if (published_generation(opts_.publish.public_dir, repo) != generation_of(a)) {
          return json{{"repo", repo}, {"superseded", true}}.dump();
        }
        DEPOT_ASSIGN_OR_RETURN(PublishReport r, publish(repo, /*pdiffs=*/false));
        return json{{"repo", repo}, {"superseded", false}, {"generation", r.generation}}.dump();
      });
}

Status Daemon::register_handlers() {
  auto add = [&](const char* kind, std::function<Result<json>(const json&)> fn) {
    return jobs_->register_handler(
        kind, JobLane::kMutation, [this, fn](const Job& job) -> Result<std::string> {
          auto run = [&]() -> Result<std::string> {
            DEPOT_ASSIGN_OR_RETURN(json a, args_of(job));
            std::lock_guard lock(store_mu_);
            DEPOT_ASSIGN_OR_RETURN(json out, fn(a));
            return out.dump(-1, ' ', false, json::error_handler_t::replace);
          };
          Result<std::string> out = run();
          // A large job (an import of many files) leaves many free pages; give them back.
          if (job.args.size() >= kLargeJobArgs) ::malloc_trim(0);
          return out;
        });
  };
  auto published = [this](const std::string& repo, json out) -> Result<json> {
    DEPOT_ASSIGN_OR_RETURN(PublishReport r, publish(repo));
    out["published"] = {{"repo", repo}, {"generation", r.generation}, {"packages", r.packages}};
    return out;
  };
  DEPOT_TRY(add("create_repo", [this](const json& a) -> Result<json> {
    std::string name = str(a, "name");
    auto existing = store_->repos();
    if (existing.ok() && std::find(existing->begin(), existing->end(), name) != existing->end()) {
      return json{{"repo", name}, {"created", false}};  // a re-run after a crash
    }
    DEPOT_TRY(store_->create_repo(name, bases_of(a)));
    return json{{"repo", name}, {"created", true}};
  }));
  DEPOT_TRY(add("set_bases", [this](const json& a) -> Result<json> {
    DEPOT_TRY(store_->set_bases(str(a, "repo"), bases_of(a)));
    return json{{"repo", str(a, "repo")}, {"bases", a.value("bases", json::array())}};
  }));
  DEPOT_TRY(add("import", [this, published](const json& a) -> Result<json> {
    std::string repo = str(a, "repo");
    auto files = a.find("files");
    if (files == a.end() || !files->is_array() || files->empty()) {
      return make_error(ErrorCode::kInvalidArgument, "import: no files given");
    }
    // Every file is read and checked (in parallel, on the work pool) before anything changes.
    std::vector<std::string> names;
    for (const auto& f : *files) {
      if (!f.is_string()) return make_error(ErrorCode::kInvalidArgument, "import: bad file name");
      names.push_back(f.get<std::string>());
    }
    std::vector<std::optional<Result<Package>>> read(names.size());
    std::vector<std::function<void()>> tasks;
    for (size_t i = 0; i < names.size(); ++i) {
      tasks.push_back([&, i] { read[i].emplace(read_deb(names[i])); });
    }
    work_->run_all(std::move(tasks));
    std::vector<std::pair<Package, std::string>> debs;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!read[i]->ok()) return read[i]->error();
      debs.emplace_back(std::move(*read[i]).value(), names[i]);
    }
    DEPOT_ASSIGN_OR_RETURN(std::vector<StoredPackage> current, store_->list(repo));
    // (name, architecture) -> the repository's versions of it: replaced by a newer import.
    std::map<std::pair<std::string, std::string>, std::vector<const StoredPackage*>> held;
    for (const StoredPackage& sp : current) {
      held[{sp.package.name, sp.package.architecture}].push_back(&sp);
    }
    DEPOT_ASSIGN_OR_RETURN(std::vector<UnresolvedRelation> unresolved,
                           check_import(repo, debs, current, flag(a, "allow_unresolved")));
    std::vector<PoolStore::ImportItem> items;
    for (const auto& [p, file] : debs) items.push_back({&p, file});
    DEPOT_ASSIGN_OR_RETURN(std::vector<int64_t> add_ids, store_->import_many(items));
    std::vector<int64_t> remove_ids;
    json imported = json::array();
    for (const auto& [p, file] : debs) {
      imported.push_back(p.name + " " + p.version + " " + p.architecture);
      auto it = held.find({p.name, p.architecture});
      if (it == held.end()) continue;
      for (const StoredPackage* sp : it->second) {
        if (compare_versions(sp->package.version, p.version) < 0) remove_ids.push_back(sp->id);
      }
    }
    DEPOT_TRY(store_->change_membership(repo, add_ids, remove_ids));
    return published(repo, json{{"repo", repo}, {"imported", imported},
                                {"unresolved", unresolved_json(unresolved)}});
  }));
  DEPOT_TRY(add("publish", [published](const json& a) -> Result<json> {
    return published(str(a, "repo"), json::object());
  }));
  auto pull = [this, published](const json& a) -> Result<json> {
    std::string dest = str(a, "repo");
    bool dry_run = flag(a, "dry_run");
    DEPOT_ASSIGN_OR_RETURN(ChangeReport c, store_->pull(dest, str(a, "from"), dry_run));
    if (dry_run) return json{{"dry_run", true}, {"repo", dest}, {"changes", change_json(c)}};
    return published(dest, change_json(c));
  };
  auto promote = [this, published](const json& a) -> Result<json> {
    std::string dest = str(a, "repo"), src = str(a, "from");
    PromoteOptions o;
    o.with_deps = flag(a, "with_deps");
    o.dry_run = flag(a, "dry_run");
    o.allow_unresolved = flag(a, "allow_unresolved");
    std::vector<std::shared_ptr<const BasePackages>> held;
    if (o.with_deps) DEPOT_TRY(base_packages(dest, src, {}, held, o.base));
    DEPOT_ASSIGN_OR_RETURN(ChangeReport c,
                           store_->promote(dest, src, strings_of(a, "packages"), o));
    if (o.dry_run) return json{{"dry_run", true}, {"repo", dest}, {"changes", change_json(c)}};
    return published(dest, change_json(c));
  };
  DEPOT_TRY(add("pull", pull));
  DEPOT_TRY(add("promote", promote));
  DEPOT_TRY(add("pull_dry_run", pull));
  DEPOT_TRY(add("promote_dry_run", promote));
  DEPOT_TRY(add("snapshot", [this](const json& a) -> Result<json> {
    DEPOT_ASSIGN_OR_RETURN(std::string name, store_->snapshot(str(a, "repo"), str(a, "name")));
    return json{{"repo", str(a, "repo")}, {"snapshot", name}};
  }));
  DEPOT_TRY(add("rollback", [this, published](const json& a) -> Result<json> {
    std::string repo = str(a, "repo");
    DEPOT_ASSIGN_OR_RETURN(ChangeReport c, store_->rollback(repo, str(a, "snapshot")));
    return published(repo, change_json(c));
  }));
  DEPOT_TRY(add("gc", [this](const json& a) -> Result<json> {
    DEPOT_ASSIGN_OR_RETURN(GcReport r, store_->gc(flag(a, "dry_run")));
    return json{{"blobs_removed", r.blobs_removed},       {"bytes_removed", r.bytes_removed},
                {"packages_removed", r.packages_removed}, {"strays_removed", r.strays_removed},
                {"refcounts_repaired", r.refcounts_repaired}, {"missing", r.missing},
                {"clean", r.clean()}};
  }));
  return register_pdiff_handlers();
}

Result<int64_t> Daemon::submit_import(const std::string& repo,
                                      const std::vector<std::string>& files) {
  return jobs_->submit("import", json{{"repo", repo}, {"files", files}}.dump());
}

}  // namespace depot::pool
