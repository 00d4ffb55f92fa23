// `depot repo ...` and `depot jobs`: clients of the publishing daemon's control socket.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "pool/control_api.h"

namespace depot {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct ClientArgs {
  std::string socket;
  bool json_out = false;
  bool no_wait = false;
};

std::string socket_path(const ClientArgs& c) {
  if (!c.socket.empty()) return c.socket;
  if (const char* env = std::getenv("DEPOT_SOCKET"); env && *env) return env;
  return "/run/depot.sock";
}

// Sends one request and prints the answer; returns the exit code.
int call(const ClientArgs& c, const char* method, const std::string& target, json body = {}) {
  if (std::string(method) == "POST") {
    if (body.is_null()) body = json::object();
    if (c.no_wait) body["wait"] = false;
  }
  auto r = pool::control_call(socket_path(c), method, target, body.is_null() ? "" : body.dump());
  if (!r.ok()) {
    std::fprintf(stderr, "depot: %s\n", r.error().message.c_str());
    return kExitUpstream;
  }
  json out = json::parse(r->body, nullptr, false);
  bool ok = r->status >= 200 && r->status < 300;
  if (c.json_out || out.is_discarded()) {
    std::printf("%s\n", r->body.c_str());
  } else if (!ok) {
    std::string msg = out.contains("error") ? (out["error"].is_string()
                                                   ? out["error"].get<std::string>()
                                                   : out["error"].dump())
                                            : r->body;
    std::fprintf(stderr, "depot: %s failed (%d): %s\n", target.c_str(), r->status, msg.c_str());
  } else if (out.is_array()) {
    for (const auto& item : out) {
      if (item.is_string()) {
        std::printf("%s\n", item.get<std::string>().c_str());
      } else if (item.contains("kind")) {  // a job
        std::printf("%6lld  %-12s %-8s %8.3fs  %s\n",
                    static_cast<long long>(item.value("id", 0LL)),
                    item.value("kind", "").c_str(), item.value("state", "").c_str(),
                    item.value("duration_ms", 0LL) / 1000.0,
                    (item.contains("error") ? item["error"] : item.value("result", json()))
                        .dump()
                        .c_str());
      } else if (item.contains("version")) {  // a package
        std::printf("%s %s %s\n", item.value("name", "").c_str(),
                    item.value("version", "").c_str(), item.value("architecture", "").c_str());
      } else {
        std::printf("%s\n", item.dump().c_str());
      }
    }
  } else {
    std::printf("%s\n", out.dump(2).c_str());
  }
  if (ok) return kExitComplete;
  return r->status == 400 || r->status == 404 ? kExitUsage : kExitFilesFailed;
}

}  // namespace

void add_repo_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ClientArgs>();
  CLI::App* repo = app.add_subcommand("repo", "Manage hosted repositories through the daemon");
  repo->require_subcommand(1);
  auto common = [c](CLI::App* sub) {
    sub->add_option("--socket", c->socket, "Daemon control socket (default: $DEPOT_SOCKET or "
                                           "/run/depot.sock)");
    sub->add_flag("--json", c->json_out, "Print the daemon's JSON answer");
    sub->add_flag("--no-wait", c->no_wait, "Return once the job is queued");
  };
  auto name = std::make_shared<std::string>();
  auto other = std::make_shared<std::string>();
  auto list = std::make_shared<std::vector<std::string>>();
  auto with_deps = std::make_shared<bool>(false);
  auto dry_run = std::make_shared<bool>(false);

  CLI::App* create = repo->add_subcommand("create", "Create a repository");
  create->add_option("name", *name)->required();
  create->callback([=, &exit_code] { exit_code = call(*c, "POST", "/repos", {{"name", *name}}); });

  CLI::App* ls = repo->add_subcommand("list", "List repositories");
  ls->callback([=, &exit_code] { exit_code = call(*c, "GET", "/repos"); });

  CLI::App* packages = repo->add_subcommand("packages", "List the packages of a repository");
  packages->add_option("name", *name)->required();
  packages->callback(
      [=, &exit_code] { exit_code = call(*c, "GET", "/repos/" + *name + "/packages"); });

  CLI::App* import = repo->add_subcommand("import", "Import .deb files and publish");
  import->add_option("name", *name)->required();
  import->add_option("files", *list)->required();
  import->callback([=, &exit_code] {
    std::vector<std::string> files;
    for (const auto& f : *list) files.push_back(fs::absolute(f).string());
    exit_code = call(*c, "POST", "/repos/" + *name + "/import", {{"files", files}});
  });

  CLI::App* publish = repo->add_subcommand("publish", "Publish a repository again");
  publish->add_option("name", *name)->required();
  publish->callback(
      [=, &exit_code] { exit_code = call(*c, "POST", "/repos/" + *name + "/publish"); });

  CLI::App* pull = repo->add_subcommand("pull", "Pull every newer version from SRC into DEST");
  pull->add_option("dest", *name)->required();
  pull->add_option("src", *other)->required();
  pull->callback([=, &exit_code] {
    exit_code = call(*c, "POST", "/repos/" + *name + "/pull", {{"from", *other}});
  });

  CLI::App* promote = repo->add_subcommand("promote", "Promote named packages from SRC to DEST");
  promote->add_option("dest", *name)->required();
  promote->add_option("src", *other)->required();
  promote->add_option("packages", *list)->required();
  promote->add_flag("--with-deps", *with_deps, "Also their Depends/Pre-Depends closure in SRC");
  promote->callback([=, &exit_code] {
    exit_code = call(*c, "POST", "/repos/" + *name + "/promote",
                     {{"from", *other}, {"packages", *list}, {"with_deps", *with_deps}});
  });

  CLI::App* snapshot = repo->add_subcommand("snapshot", "Take an immutable snapshot");
  snapshot->add_option("name", *name)->required();
  snapshot->add_option("--as", *other, "Snapshot name (default: <repo>-<UTC time>)");
  snapshot->callback([=, &exit_code] {
    json body = json::object();
    if (!other->empty()) body["name"] = *other;
    exit_code = call(*c, "POST", "/repos/" + *name + "/snapshots", body);
  });

  CLI::App* snapshots = repo->add_subcommand("snapshots", "List a repository's snapshots");
  snapshots->add_option("name", *name)->required();
  snapshots->callback(
      [=, &exit_code] { exit_code = call(*c, "GET", "/repos/" + *name + "/snapshots"); });

  CLI::App* rollback = repo->add_subcommand("rollback", "Republish a repository as a snapshot");
  rollback->add_option("name", *name)->required();
  rollback->add_option("snapshot", *other)->required();
  rollback->callback([=, &exit_code] {
    exit_code = call(*c, "POST", "/repos/" + *name + "/rollback", {{"snapshot", *other}});
  });

  CLI::App* gc = repo->add_subcommand("gc", "Remove unreferenced pool files; repair drift");
  gc->add_flag("--dry-run", *dry_run, "Only report");
  gc->callback([=, &exit_code] { exit_code = call(*c, "POST", "/gc", {{"dry_run", *dry_run}}); });

  for (CLI::App* sub : {create, ls, packages, import, publish, pull, promote, snapshot, snapshots,
                        rollback, gc}) {
    common(sub);
  }

  auto state = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(50);
  CLI::App* jobs = app.add_subcommand("jobs", "List the daemon's jobs with their durations");
  jobs->add_option("--state", *state, "queued, running, done or failed");
  jobs->add_option("--limit", *limit, "At most this many, newest first")->capture_default_str();
  common(jobs);
  jobs->callback([=, &exit_code] {
    std::string target = "/jobs?limit=" + std::to_string(*limit);
    if (!state->empty()) target += "&state=" + *state;
    exit_code = call(*c, "GET", target);
  });
}

}  // namespace depot
