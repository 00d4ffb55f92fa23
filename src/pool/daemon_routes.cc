// The daemon's control API routes: requests checked field by field, turned into reads or jobs.

#include <nlohmann/json.hpp>

#include "pool/daemon.h"
#include "pool/request_fields.h"

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
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      return 400;
    case ErrorCode::kRefused:
      return 409;
    default:
      return 500;
  }
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// The path segments of a request target, without its query.
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

json package_json(const StoredPackage& sp) {
  const Package& p = sp.package;
  return json{{"id", sp.id},
              {"name", p.name},
              {"version", p.version},
              {"architecture", p.architecture},
              {"filename", p.file.filename},
              {"size", p.file.size},
              {"sha256", p.file.digests.sha256}};
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

// `name` if it is a valid repository name; the error names the field it came from.
Result<std::string> repo_name(std::string name, std::string_view field) {
  if (PoolStore::valid_repo_name(name)) return name;
  return invalid(std::string(field) + ": not a valid repository name: " + quote_input(name));
}

// The "bases" field of a body: an array of {"url", "dist", "components": [...]} objects, each
// checked (validate_base); absent is none. Returns it as job arguments.
Result<json> bases_field(const json& body) {
  auto it = body.find("bases");
  if (it == body.end()) return json::array();
  if (!it->is_array()) return invalid("field \"bases\" must be an array");
  json out = json::array();
  for (const json& b : *it) {
    if (!b.is_object()) return invalid("field \"bases\": each base must be an object");
    BodyFields f(b);
    DEPOT_TRY(f.only({"url", "dist", "components"}));
    BaseSpec spec;
    DEPOT_ASSIGN_OR_RETURN(spec.url, f.string("url"));
    DEPOT_ASSIGN_OR_RETURN(spec.dist, f.string("dist"));
    DEPOT_ASSIGN_OR_RETURN(spec.components, f.strings("components"));
    if (Status st = validate_base(spec); !st.ok()) {
      return invalid("field \"bases\": " + quote_input(st.error().message, 200));
    }
    out.push_back(spec);
  }
  return out;
}

std::string dump(const json& args) {
  return args.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

void Daemon::handle(const ControlRequest& request, ControlReply answer) {
  Result<Routed> routed = route(request);
  if (!routed.ok()) {
    return answer(error_reply(status_for(routed.error()), routed.error().message));
  }
  if (routed->wait_for == 0) return answer(std::move(routed->now));
  jobs_->when_finished(routed->wait_for, [answer](Result<Job> job) { answer(job_answer(job)); });
}

Result<Daemon::Routed> Daemon::submit(const std::string& kind, const std::string& args, bool wait) {
  DEPOT_ASSIGN_OR_RETURN(int64_t id, jobs_->submit(kind, args));
  if (!wait) return Routed{reply(202, json{{"job", id}, {"state", "queued"}})};
  return Routed{{}, id};
}

Result<Daemon::Routed> Daemon::route(const ControlRequest& r) {
  const std::vector<std::string> p = split_path(r.target);
  if (!p.empty() && p[0] == "jobs") return route_jobs(r, p);
  if (!p.empty() && p[0] == "repos") return route_repo(r, p);
  if (p.size() == 1 && p[0] == "status") {
    if (r.method != "GET") return Routed{error_reply(405, "GET /status")};
    std::lock_guard lock(read_mu_);
    auto repos = reader_->repos();
    auto queued = jobs_->list(JobFilter{JobState::kQueued, std::nullopt, std::nullopt});
    auto running = jobs_->list(JobFilter{JobState::kRunning, std::nullopt, std::nullopt});
    return Routed{reply(200, json{{"root", opts_.root.string()},
                                  {"repos", repos.ok() ? json(*repos) : json::array()},
                                  {"queued", queued.ok() ? queued->size() : 0},
                                  {"running", running.ok() ? running->size() : 0}})};
  }
  if (p.size() == 1 && p[0] == "gc") {
    if (r.method != "POST") return Routed{error_reply(405, "POST /gc")};
    DEPOT_ASSIGN_OR_RETURN(json body, parse_body(r.body));
    BodyFields f(body);
    DEPOT_TRY(f.only({"dry_run", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(bool dry_run, f.boolean("dry_run", false));
    DEPOT_ASSIGN_OR_RETURN(bool wait, f.boolean("wait", true));
    return submit("gc", dump(json{{"dry_run", dry_run}}), wait);
  }
  return Routed{error_reply(404, "no such route: " + quote_input(r.target))};
}

Result<Daemon::Routed> Daemon::route_jobs(const ControlRequest& r,
                                          const std::vector<std::string>& p) {
  if (r.method != "GET") return Routed{error_reply(405, "jobs are read-only")};
  if (p.size() == 2) {
    DEPOT_ASSIGN_OR_RETURN(int64_t id, parse_id(p[1], "job id"));
    DEPOT_ASSIGN_OR_RETURN(Job job, jobs_->get(id));
    return Routed{reply(200, job_json(job))};
  }
  if (p.size() > 2) return Routed{error_reply(404, "no such route: " + quote_input(r.target))};
  DEPOT_ASSIGN_OR_RETURN(QueryParams q, QueryParams::parse(r.target, {"state", "limit"}));
  JobFilter filter;
  if (auto s = q.get("state")) {
    filter.state = parse_job_state(*s);
    if (!filter.state) {
      return invalid("query parameter \"state\" must be queued, running, done or failed, not " +
                     quote_input(*s));
    }
  }
  DEPOT_ASSIGN_OR_RETURN(uint64_t limit, q.number("limit", 100, 100000));
  DEPOT_ASSIGN_OR_RETURN(std::vector<Job> list, jobs_->list(filter, limit));
  json a = json::array();
  for (const Job& j : list) a.push_back(job_json(j));
  return Routed{reply(200, a)};
}

Result<Daemon::Routed> Daemon::route_repo(const ControlRequest& r,
                                          const std::vector<std::string>& p) {
  const bool get = r.method == "GET", post = r.method == "POST";
  if (!get && !post) return Routed{error_reply(405, "GET reads, POST changes state")};
  if (p.size() > 3) return Routed{error_reply(404, "no such route: " + quote_input(r.target))};
  if (get) {
    std::lock_guard lock(read_mu_);
    if (p.size() == 1) {
      DEPOT_ASSIGN_OR_RETURN(std::vector<std::string> repos, reader_->repos());
      return Routed{reply(200, repos)};
    }
    DEPOT_ASSIGN_OR_RETURN(std::string repo, repo_name(p[1], "repository"));
    json a = json::array();
    if (p.size() == 2) {
      DEPOT_ASSIGN_OR_RETURN(std::vector<BaseSpec> bases, reader_->bases(repo));
      DEPOT_ASSIGN_OR_RETURN(std::vector<std::string> archs, reader_->architectures(repo));
      return Routed{reply(200, json{{"name", repo},
                                    {"bases", json(bases)},
                                    {"architectures", archs}})};
    }
    if (p.size() == 3 && p[2] == "packages") {
      DEPOT_ASSIGN_OR_RETURN(std::vector<StoredPackage> list, reader_->list(repo));
      for (const StoredPackage& sp : list) a.push_back(package_json(sp));
      return Routed{reply(200, a)};
    }
    if (p.size() == 3 && p[2] == "snapshots") {
      DEPOT_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> list, reader_->snapshots(repo));
      for (const SnapshotInfo& s : list) {
        a.push_back({{"name", s.name}, {"created_at", s.created_at}, {"packages", s.packages}});
      }
      return Routed{reply(200, a)};
    }
    return Routed{error_reply(404, "no such route: " + quote_input(r.target))};
  }

  DEPOT_ASSIGN_OR_RETURN(json body, parse_body(r.body));
  BodyFields f(body);
  DEPOT_ASSIGN_OR_RETURN(bool wait, f.boolean("wait", true));
  if (p.size() == 1) {
    DEPOT_TRY(f.only({"name", "bases", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(std::string name, f.string("name"));
    DEPOT_ASSIGN_OR_RETURN(name, repo_name(std::move(name), "field \"name\""));
    DEPOT_ASSIGN_OR_RETURN(json bases, bases_field(body));
    return submit("create_repo", dump(json{{"name", name}, {"bases", bases}}), wait);
  }
  DEPOT_ASSIGN_OR_RETURN(std::string repo, repo_name(p[1], "repository"));
  const std::string action = p.size() == 3 ? p[2] : "";
  json args{{"repo", repo}};
  std::string kind = action == "snapshots" ? "snapshot" : action;
  if (action == "import") {
    DEPOT_TRY(f.only({"files", "allow_unresolved", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(args["files"], f.strings("files"));
    DEPOT_ASSIGN_OR_RETURN(args["allow_unresolved"], f.boolean("allow_unresolved", false));
  } else if (action == "publish") {
    DEPOT_TRY(f.only({"wait"}));
  } else if (action == "bases") {
    DEPOT_TRY(f.only({"bases", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(args["bases"], bases_field(body));
    kind = "set_bases";
  } else if (action == "pull" || action == "promote") {
    if (action == "pull") DEPOT_TRY(f.only({"from", "dry_run", "wait"}));
    if (action == "promote") {
      DEPOT_TRY(f.only({"from", "packages", "with_deps", "allow_unresolved", "dry_run", "wait"}));
    }
    DEPOT_ASSIGN_OR_RETURN(std::string from, f.string("from"));
    DEPOT_ASSIGN_OR_RETURN(args["from"], repo_name(std::move(from), "field \"from\""));
    DEPOT_ASSIGN_OR_RETURN(bool dry_run, f.boolean("dry_run", false));
    args["dry_run"] = dry_run;
    if (dry_run) kind = action + "_dry_run";  // a job that changes nothing
    if (action == "promote") {
      DEPOT_ASSIGN_OR_RETURN(args["packages"], f.strings("packages"));
      DEPOT_ASSIGN_OR_RETURN(args["with_deps"], f.boolean("with_deps", false));
      DEPOT_ASSIGN_OR_RETURN(args["allow_unresolved"], f.boolean("allow_unresolved", false));
    }
  } else if (action == "snapshots") {
    DEPOT_TRY(f.only({"name", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(std::optional<std::string> name, f.optional_string("name"));
    if (name) args["name"] = *name;
  } else if (action == "rollback") {
    DEPOT_TRY(f.only({"snapshot", "wait"}));
    DEPOT_ASSIGN_OR_RETURN(args["snapshot"], f.string("snapshot"));
  } else {
    return Routed{error_reply(404, "no such route: " + quote_input(r.target))};
  }
  return submit(kind, dump(args), wait);
}

}  // namespace depot::pool
