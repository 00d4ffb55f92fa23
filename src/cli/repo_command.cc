// `depot repo ...` and `depot jobs`: clients of the publishing daemon's control socket.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "pool/control_api.h"
#include "transfer/http_util.h"

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

// A dry-run job's result (or a pull/promote/import result with warnings), for people: one line
// per change, then the unresolved relations.
void print_changes(const json& result) {
  const json changes = result.contains("changes") ? result["changes"] : result;
  auto list = [&](const char* key) { return changes.value(key, json::array()); };
  std::set<std::string> replaced_to, replaced_from;
  for (const auto& r : list("replaced")) {
    replaced_to.insert(r.value("to", ""));
    replaced_from.insert(r.value("from", ""));
  }
  const bool dry = result.value("dry_run", false);
  size_t n = 0;
  for (const auto& a : list("added")) {
    if (a.is_string() && !replaced_to.count(a.get<std::string>())) {
      std::printf("add      %s\n", a.get<std::string>().c_str()), ++n;
    }
  }
  for (const auto& r : list("replaced")) {
    std::printf("replace  %s -> %s\n", r.value("from", "").c_str(), r.value("to", "").c_str()), ++n;
  }
  for (const auto& a : list("removed")) {
    if (a.is_string() && !replaced_from.count(a.get<std::string>())) {
      std::printf("remove   %s\n", a.get<std::string>().c_str()), ++n;
    }
  }
  for (const auto& a : list("imported")) {
    if (a.is_string()) std::printf("import   %s\n", a.get<std::string>().c_str()), ++n;
  }
  for (const auto& u : list("unresolved")) {
    if (u.is_string()) std::printf("warning: unresolved: %s\n", u.get<std::string>().c_str());
  }
  if (n == 0) std::printf("no changes\n");
  if (dry) std::printf("(dry run: nothing was changed)\n");
}

// "  base: URL DIST comp1,comp2" per base of a GET /repos/R answer.
void print_bases(const json& repo) {
  for (const auto& b : repo.value("bases", json::array())) {
    std::string comps;
    for (const auto& c : b.value("components", json::array())) {
      if (c.is_string()) comps += (comps.empty() ? "" : ",") + c.get<std::string>();
    }
    std::printf("  base: %s %s %s\n", b.value("url", "").c_str(), b.value("dist", "").c_str(),
                comps.c_str());
  }
}

void print_repo(const json& r) {
  std::printf("%s\n", r.value("name", "").c_str());
  std::string archs;
  for (const auto& a : r.value("architectures", json::array())) archs += " " + a.get<std::string>();
  std::printf("  architectures:%s\n", archs.empty() ? " (none yet)" : archs.c_str());
  if (r.value("bases", json::array()).empty()) std::printf("  bases: none\n");
  print_bases(r);
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
  } else if (out.contains("bases") && out.contains("name")) {
    print_repo(out);
  } else if (out.contains("result") && out["result"].is_object() &&
             (out["result"].value("dry_run", false) ||
              !out["result"].value("unresolved", json::array()).empty())) {
    print_changes(out["result"]);
  } else {
    std::printf("%s\n", out.dump(2).c_str());
  }
  if (ok) return kExitComplete;
  return r->status == 400 || r->status == 404 ? kExitUsage : kExitFilesFailed;
}

// `depot repo list` for people: each repository with its bases.
int list_repos(const ClientArgs& c) {
  auto names = pool::control_call(socket_path(c), "GET", "/repos", "");
  json list = names.ok() ? json::parse(names->body, nullptr, false) : json();
  if (!names.ok() || names->status != 200 || !list.is_array()) return call(c, "GET", "/repos");
  for (const auto& name : list) {
    if (!name.is_string()) continue;
    const std::string n = name.get<std::string>();
    auto r = pool::control_call(socket_path(c), "GET", "/repos/" + n, "");
    json info = r.ok() ? json::parse(r->body, nullptr, false) : json();
    std::printf("%s\n", n.c_str());
    if (info.is_object()) print_bases(info);
  }
  return kExitComplete;
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
  auto allow_unresolved = std::make_shared<bool>(false);
  auto base_urls = std::make_shared<std::vector<std::string>>();
  auto base_dists = std::make_shared<std::vector<std::string>>();
  auto base_comps = std::make_shared<std::vector<std::string>>();
  auto base_options = [=](CLI::App* sub) {
    sub->add_option("--base", *base_urls,
                    "A base distribution its packages may depend on: an apt archive's directory "
                    "(e.g. made by depot mirror apt) or http(s) URL (repeatable)");
    sub->add_option("--base-dist", *base_dists,
                    "Distribution of the bases (one for all, or one per --base)");
    sub->add_option("--base-component", *base_comps,
                    "Components of the bases (repeatable or comma list; default main)")
        ->delimiter(',');
  };
  // The "bases" body field from the --base options; an error message when they do not fit.
  auto bases_body = [=](json& body) -> std::string {
    if (base_urls->empty()) {
      return base_dists->empty() && base_comps->empty() ? "" : "--base-dist and "
                                                                "--base-component need --base";
    }
    if (base_dists->size() != 1 && base_dists->size() != base_urls->size()) {
      return "give one --base-dist for all bases or one per --base";
    }
    json bases = json::array();
    std::vector<std::string> comps = base_comps->empty() ? std::vector<std::string>{"main"}
                                                         : *base_comps;
    for (size_t i = 0; i < base_urls->size(); ++i) {
      std::string url = (*base_urls)[i];
      if (!is_http_url(url)) {
        url = fs::absolute(url).lexically_normal().string();
      }
      bases.push_back({{"url", url},
                       {"dist", (*base_dists)[base_dists->size() == 1 ? 0 : i]},
                       {"components", comps}});
    }
    body["bases"] = bases;
    return "";
  };

  CLI::App* create = repo->add_subcommand("create", "Create a repository");
  create->add_option("name", *name)->required();
  base_options(create);
  create->callback([=, &exit_code] {
    json body{{"name", *name}};
    if (std::string err = bases_body(body); !err.empty()) {
      std::fprintf(stderr, "depot: repo create: %s\n", err.c_str());
      exit_code = kExitUsage;
      return;
    }
    exit_code = call(*c, "POST", "/repos", body);
  });

  CLI::App* show = repo->add_subcommand("show", "Show a repository: its architectures and bases");
  show->add_option("name", *name)->required();
  show->callback([=, &exit_code] { exit_code = call(*c, "GET", "/repos/" + *name); });

  CLI::App* set_bases = repo->add_subcommand(
      "set-bases", "Replace a repository's base distributions (none without --base)");
  set_bases->add_option("name", *name)->required();
  base_options(set_bases);
  set_bases->callback([=, &exit_code] {
    json body{{"bases", json::array()}};
    if (std::string err = bases_body(body); !err.empty()) {
      std::fprintf(stderr, "depot: repo set-bases: %s\n", err.c_str());
      exit_code = kExitUsage;
      return;
    }
    exit_code = call(*c, "POST", "/repos/" + *name + "/bases", body);
  });

  CLI::App* ls = repo->add_subcommand("list", "List repositories");
  ls->callback([=, &exit_code] {
    if (c->json_out) {
      exit_code = call(*c, "GET", "/repos");
      return;
    }
    exit_code = list_repos(*c);
  });

  CLI::App* packages = repo->add_subcommand("packages", "List the packages of a repository");
  packages->add_option("name", *name)->required();
  packages->callback(
      [=, &exit_code] { exit_code = call(*c, "GET", "/repos/" + *name + "/packages"); });

  CLI::App* import = repo->add_subcommand("import", "Import .deb files and publish");
  import->add_option("name", *name)->required();
  import->add_option("files", *list)->required();
  import->add_flag("--allow-unresolved", *allow_unresolved,
                   "Accept Depends the repository and its bases do not satisfy (warnings)");
  import->callback([=, &exit_code] {
    std::vector<std::string> files;
    for (const auto& f : *list) files.push_back(fs::absolute(f).string());
    json body{{"files", files}};
    if (*allow_unresolved) body["allow_unresolved"] = true;
    exit_code = call(*c, "POST", "/repos/" + *name + "/import", body);
  });

  CLI::App* publish = repo->add_subcommand("publish", "Publish a repository again");
  publish->add_option("name", *name)->required();
  publish->callback(
      [=, &exit_code] { exit_code = call(*c, "POST", "/repos/" + *name + "/publish"); });

  CLI::App* pull = repo->add_subcommand("pull", "Pull every newer version from SRC into DEST");
  pull->add_option("dest", *name)->required();
  pull->add_option("src", *other)->required();
  pull->add_flag("--dry-run", *dry_run, "List what would be added, replaced and removed; change "
                                        "nothing");
  pull->callback([=, &exit_code] {
    json body{{"from", *other}};
    if (*dry_run) body["dry_run"] = true;
    exit_code = call(*c, "POST", "/repos/" + *name + "/pull", body);
  });

  CLI::App* promote = repo->add_subcommand("promote", "Promote named packages from SRC to DEST");
  promote->add_option("dest", *name)->required();
  promote->add_option("src", *other)->required();
  promote->add_option("packages", *list)->required();
  promote->add_flag("--with-deps", *with_deps,
                    "Also their Depends/Pre-Depends closure in SRC; every relation must then "
                    "resolve in DEST or its bases");
  promote->add_flag("--allow-unresolved", *allow_unresolved,
                    "Accept relations nothing satisfies (reported as warnings)");
  promote->add_flag("--dry-run", *dry_run, "List what would be added, replaced and removed; "
                                           "change nothing");
  promote->callback([=, &exit_code] {
    json body{{"from", *other}, {"packages", *list}, {"with_deps", *with_deps}};
    if (*allow_unresolved) body["allow_unresolved"] = true;
    if (*dry_run) body["dry_run"] = true;
    exit_code = call(*c, "POST", "/repos/" + *name + "/promote", body);
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

  for (CLI::App* sub : {create, show, set_bases, ls, packages, import, publish, pull, promote,
                        snapshot, snapshots, rollback, gc}) {
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
