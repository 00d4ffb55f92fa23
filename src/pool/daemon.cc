#include "pool/daemon.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "pool/deb_reader.h"

namespace depot::pool {
namespace {

using json = nlohmann::json;

ControlResponse reply(int status, const json& body) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

ControlResponse error_reply(int status, const std::string& message) {
  return reply(status, json{{"error", message}});
}

int status_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse: return 400;
    case ErrorCode::kRefused: return 409;
    default: return 500;
  }
}

std::vector<std::string> split_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < target.size()) {
    size_t next = target.find('/', pos);
    if (next == std::string_view::npos) next = target.size();
    if (next > pos) out.emplace_back(target.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

std::string query_value(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    if (item.starts_with(key) && item.size() > key.size() && item[key.size()] == '=') {
      return std::string(item.substr(key.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return "";
}

json package_json(const StoredPackage& sp) {
  const Package& p = sp.package;
  return json{{"id", sp.id},         {"name", p.name},
              {"version", p.version}, {"architecture", p.architecture},
              {"filename", p.file.filename}, {"size", p.file.size},
              {"sha256", p.file.digests.sha256}};
}

json change_json(const ChangeReport& c) {
  auto refs = [](const std::vector<PackageRef>& v) {
    json a = json::array();
    for (const PackageRef& r : v) a.push_back(r.name + " " + r.version + " " + r.architecture);
    return a;
  };
  return json{{"added", refs(c.added)}, {"removed", refs(c.removed)}};
}

json job_json(const Job& j) {
  int64_t now = unix_millis(std::chrono::system_clock::now());
  json out{{"id", j.id},
           {"kind", j.kind},
           {"lane", job_lane_name(j.lane)},
           {"state", job_state_name(j.state)},
           {"attempts", j.attempts},
           {"created_ms", j.created_ms},
           {"duration_ms", j.duration_ms(now)},
           {"args", json::parse(j.args, nullptr, false)}};
  json message = json::parse(j.message, nullptr, false);
  out[j.state == JobState::kFailed ? "error" : "result"] =
      message.is_discarded() ? json(j.message) : message;
  return out;
}

// The answer to a request that waited for its job.
ControlResponse job_answer(const Result<Job>& job) {
  if (!job.ok()) return error_reply(status_for(job.error()), job.error().message);
  if (!job->finished()) return reply(202, job_json(*job));
  return reply(job->state == JobState::kDone ? 200 : 422, job_json(*job));
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

}  // namespace

Daemon::Daemon(const DaemonOptions& options, Logger& logger) : opts_(options), log_(logger) {
  if (opts_.publish.public_dir.empty()) opts_.publish.public_dir = opts_.root / "public";
  work_ = std::make_unique<WorkPool>(std::max(1u, opts_.workers) - 1);
  chunks_ = std::make_unique<ChunkCache>(opts_.root / "cache" / "index-chunks");
  opts_.publish.index.pool = work_.get();
  opts_.publish.index.cache = chunks_.get();
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

Result<PublishReport> Daemon::publish(const std::string& repo) {
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
  return r;
}

Status Daemon::register_handlers() {
  auto add = [&](const char* kind, std::function<Result<json>(const json&)> fn) {
    return jobs_->register_handler(kind, JobLane::kMutation,
                                   [this, fn](const Job& job) -> Result<std::string> {
                                     DEPOT_ASSIGN_OR_RETURN(json a, args_of(job));
                                     std::lock_guard lock(store_mu_);
                                     DEPOT_ASSIGN_OR_RETURN(json out, fn(a));
                                     return out.dump(-1, ' ', false,
                                                     json::error_handler_t::replace);
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
    DEPOT_TRY(store_->create_repo(name));
    return json{{"repo", name}, {"created", true}};
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
    return published(repo, json{{"repo", repo}, {"imported", imported}});
  }));
  DEPOT_TRY(add("publish", [published](const json& a) -> Result<json> {
    return published(str(a, "repo"), json::object());
  }));
  DEPOT_TRY(add("pull", [this, published](const json& a) -> Result<json> {
    std::string dest = str(a, "repo");
    DEPOT_ASSIGN_OR_RETURN(ChangeReport c, store_->pull(dest, str(a, "from")));
    return published(dest, change_json(c));
  }));
  DEPOT_TRY(add("promote", [this, published](const json& a) -> Result<json> {
    std::string dest = str(a, "repo");
    std::vector<std::string> names;
    if (auto it = a.find("packages"); it != a.end() && it->is_array()) {
      for (const auto& n : *it) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
    }
    bool deps = a.value("with_deps", false);
    DEPOT_ASSIGN_OR_RETURN(ChangeReport c, store_->promote(dest, str(a, "from"), names, deps));
    return published(dest, change_json(c));
  }));
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
    DEPOT_ASSIGN_OR_RETURN(GcReport r, store_->gc(a.value("dry_run", false)));
    return json{{"blobs_removed", r.blobs_removed},       {"bytes_removed", r.bytes_removed},
                {"packages_removed", r.packages_removed}, {"strays_removed", r.strays_removed},
                {"refcounts_repaired", r.refcounts_repaired}, {"missing", r.missing},
                {"clean", r.clean()}};
  }));
  return {};
}

Result<int64_t> Daemon::submit_import(const std::string& repo,
                                      const std::vector<std::string>& files) {
  return jobs_->submit("import", json{{"repo", repo}, {"files", files}}.dump());
}

Daemon::Routed Daemon::submit_and_maybe_wait(const std::string& kind, const std::string& args,
                                             bool wait) {
  auto id = jobs_->submit(kind, args);
  if (!id.ok()) return {error_reply(status_for(id.error()), id.error().message)};
  if (!wait) return {reply(202, json{{"job", *id}, {"state", "queued"}})};
  return {{}, *id};
}

void Daemon::handle(const ControlRequest& request, ControlReply answer) {
  Routed routed = route(request);
  if (routed.wait_for == 0) return answer(std::move(routed.now));
  jobs_->when_finished(routed.wait_for, [answer](Result<Job> job) { answer(job_answer(job)); });
}

Daemon::Routed Daemon::route(const ControlRequest& r) {
  std::vector<std::string> p = split_path(r.target);
  json body = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  if (!body.is_object()) return Routed{error_reply(400, "the request body is not a JSON object")};
  bool wait = body.value("wait", true);
  bool get = r.method == "GET", post = r.method == "POST";

  if (get && p.size() == 1 && p[0] == "status") {
    std::lock_guard lock(read_mu_);
    auto repos = reader_->repos();
    auto queued = jobs_->list(JobFilter{JobState::kQueued, std::nullopt, std::nullopt});
    auto running = jobs_->list(JobFilter{JobState::kRunning, std::nullopt, std::nullopt});
    return Routed{reply(200, json{{"root", opts_.root.string()},
                                  {"repos", repos.ok() ? json(*repos) : json::array()},
                                  {"queued", queued.ok() ? queued->size() : 0},
                                  {"running", running.ok() ? running->size() : 0}})};
  }
  if (p.size() >= 1 && p[0] == "jobs") {
    if (!get) return Routed{error_reply(405, "jobs are read-only")};
    if (p.size() == 2) {
      auto job = jobs_->get(std::atoll(p[1].c_str()));
      if (!job.ok()) return Routed{error_reply(status_for(job.error()), job.error().message)};
      return Routed{reply(200, job_json(*job))};
    }
    JobFilter filter;
    if (std::string s = query_value(r.target, "state"); !s.empty()) {
      filter.state = parse_job_state(s);
      if (!filter.state) return Routed{error_reply(400, "unknown job state " + s)};
    }
    std::string limit = query_value(r.target, "limit");
    auto list = jobs_->list(filter, limit.empty() ? 100 : std::stoul(limit));
    if (!list.ok()) return Routed{error_reply(500, list.error().message)};
    json a = json::array();
    for (const Job& j : *list) a.push_back(job_json(j));
    return Routed{reply(200, a)};
  }
  if (p.size() == 1 && p[0] == "gc" && post) {
    return submit_and_maybe_wait("gc", json{{"dry_run", body.value("dry_run", false)}}.dump(),
                                 wait);
  }
  if (p.empty() || p[0] != "repos") return Routed{error_reply(404, "no such route: " + r.target)};
  if (p.size() == 1) {
    if (get) {
      std::lock_guard lock(read_mu_);
      auto repos = reader_->repos();
      if (!repos.ok()) return Routed{error_reply(500, repos.error().message)};
      return Routed{reply(200, *repos)};
    }
    if (post) {
      std::string name = body.value("name", "");
      if (!PoolStore::valid_repo_name(name)) {
        return Routed{error_reply(400, "not a valid repository name: " + name)};
      }
      return submit_and_maybe_wait("create_repo", json{{"name", name}}.dump(), wait);
    }
    return Routed{error_reply(405, "GET or POST")};
  }
  const std::string& repo = p[1];
  std::string action = p.size() >= 3 ? p[2] : "";
  if (get && action == "packages") {
    std::lock_guard lock(read_mu_);
    auto list = reader_->list(repo);
    if (!list.ok()) return Routed{error_reply(status_for(list.error()), list.error().message)};
    json a = json::array();
    for (const StoredPackage& sp : *list) a.push_back(package_json(sp));
    return Routed{reply(200, a)};
  }
  if (get && action == "snapshots") {
    std::lock_guard lock(read_mu_);
    auto list = reader_->snapshots(repo);
    if (!list.ok()) return Routed{error_reply(status_for(list.error()), list.error().message)};
    json a = json::array();
    for (const SnapshotInfo& s : *list) {
      a.push_back({{"name", s.name}, {"created_at", s.created_at}, {"packages", s.packages}});
    }
    return Routed{reply(200, a)};
  }
  if (!post) return Routed{error_reply(405, "POST " + r.target + " changes state; GET reads")};
  json args = body;
  args.erase("wait");
  args["repo"] = repo;
  if (action == "import") return submit_and_maybe_wait("import", args.dump(), wait);
  if (action == "publish") return submit_and_maybe_wait("publish", args.dump(), wait);
  if (action == "pull") return submit_and_maybe_wait("pull", args.dump(), wait);
  if (action == "promote") return submit_and_maybe_wait("promote", args.dump(), wait);
  if (action == "snapshots") return submit_and_maybe_wait("snapshot", args.dump(), wait);
  if (action == "rollback") return submit_and_maybe_wait("rollback", args.dump(), wait);
  return Routed{error_reply(404, "no such route: " + r.target)};
}

}  // namespace depot::pool
