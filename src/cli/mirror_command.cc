// `depot mirror <kind> <upstream-url> <dir>`: one mirror pass, with a progress line on a
// terminal and a summary line always.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/progress_line.h"
#include "core/units.h"
#include "cli/mirror_pass.h"
#include "sources/registry.h"

namespace depot {
namespace {

struct MirrorArgs {
  std::string kind, upstream, dir;
  site::EngineSettings engine;
  bool quiet = false, progress = false;
  std::string log_format = "text", log_level = "info";
  TargetArgs target;
};

// The registries' own options, one CLI11 option per flag however many registries take it (its
// help names each); applied to SourceOptions for the registry chosen.
struct RegistryArgs {
  struct Slot {
    RegistryOption::Kind kind = RegistryOption::Kind::kList;
    std::vector<std::string> items;  // kList
    std::string value;               // kValue, kFile, kListFile
    bool set = false;                // kFlag
    CLI::Option* option = nullptr;
    std::string help;
  };
  std::map<std::string, Slot> by_flag;
};

constexpr const char* kExitHelp = R"(
Exit codes:
  0  complete: the mirror equals the upstream state, every file verified
  1  some files failed after their retries (each is named); the previous index stays published
  2  usage error
  3  upstream index unreachable, malformed or hostile (unsafe path); nothing was changed
  4  new index published, but stale-file removal was refused by the --delete-limit guard
  5  local storage or state-database error
  6  another depot run holds this directory

State lives in <dir>/.depot/ (state.db, temporary files); nothing else is written outside <dir>.
For s3://bucket/prefix the state is local (--state, default $XDG_STATE_HOME/depot/s3/...);
credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS_PROFILE profile of
~/.aws/credentials. Exit code 5 covers bucket errors (credentials, missing bucket, quota).
For cluster+http://host:port/prefix (a `depot cluster serve` gateway) the state is local too
(default $XDG_STATE_HOME/depot/cluster/...); the write token comes from DEPOT_TOKEN. A file is
committed only once the gateway stored every copy it wants (201); fewer copies fail the run
(exit 5) and the previous root stays published.
)";

void print_summary(const MirrorArgs& a, const MirrorReport& r) {
  const int exit_code = exit_code_for(r.outcome);
  if (a.log_format == "json") {
    nlohmann::ordered_json j;
    j["event"] = "summary";
    j["status"] = exit_code == 0 ? "complete" : "failed";
    j["exit_code"] = exit_code;
    j["upstream"] = a.upstream;
    j["dir"] = a.dir;
    j["files_total"] = r.files_total;
    j["files_downloaded"] = r.files_downloaded;
    j["bytes_downloaded"] = r.bytes_downloaded;
    j["files_unchanged"] = r.files_unchanged;
    j["files_adopted"] = r.files_adopted;
    j["indexes_written"] = r.indexes_written;
    j["files_removed"] = r.files_removed;
    j["stale_kept"] = r.stale_kept;
    j["stale_in_grace"] = r.stale_in_grace;
    j["indexes_committed"] = r.indexes_committed;
    j["seconds"] = r.seconds;
    if (!r.error.empty()) j["error"] = r.error;
    nlohmann::ordered_json failed = nlohmann::ordered_json::array();
    for (const auto& f : r.failed) failed.push_back({{"path", f.path}, {"reason", f.reason}});
    j["failed"] = failed;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return;
  }
  for (const auto& f : r.failed) std::printf("failed: %s: %s\n", f.path.c_str(), f.reason.c_str());
  std::string status =
      exit_code == 0 ? "complete" : "FAILED (exit " + std::to_string(exit_code) + ")";
  std::printf(
      "depot mirror %s: %s: %llu files, downloaded %llu files (%s), %llu unchanged, %llu "
      "adopted, %llu indexes written, %llu removed%s in %s; every download verified by digest%s%s\n",
      a.kind.c_str(), status.c_str(), static_cast<unsigned long long>(r.files_total),
      static_cast<unsigned long long>(r.files_downloaded), format_bytes(r.bytes_downloaded).c_str(),
      static_cast<unsigned long long>(r.files_unchanged),
      static_cast<unsigned long long>(r.files_adopted),
      static_cast<unsigned long long>(r.indexes_written),
      static_cast<unsigned long long>(r.files_removed),
      (std::string(r.stale_kept ? ", " + std::to_string(r.stale_kept) + " stale kept" : "") +
       (r.stale_in_grace ? ", " + std::to_string(r.stale_in_grace) + " superseded kept for the grace period" : ""))
          .c_str(),
      format_duration(std::chrono::duration<double>(r.seconds)).c_str(),
      r.error.empty() ? "" : "; ", r.error.c_str());
  std::fflush(stdout);
}

// Fills `out` from the registry options given on the command line; one that registry `r` does
// not take is a usage error.
bool apply_registry_options(const RegistryArgs& ra, const RegistryDescriptor& r,
                            SourceOptions& out) {
  using Kind = RegistryOption::Kind;
  for (const auto& [flag, slot] : ra.by_flag) {
    if (slot.option->count() == 0) continue;
    const RegistryOption* o = find_option(r, flag);
    if (o == nullptr) {
      std::fprintf(stderr, "depot mirror %s: %s is not an option of %s (%s)\n", r.name.c_str(),
                   flag.c_str(), r.name.c_str(), slot.help.c_str());
      return false;
    }
    auto& list = out.lists[o->key];
    switch (o->kind) {
      case Kind::kList:
        list.insert(list.end(), slot.items.begin(), slot.items.end());
        break;
      case Kind::kListFile:
        if (Status st = append_list_file(slot.value, list); !st.ok()) {
          std::fprintf(stderr, "depot mirror: %s %s\n", flag.c_str(), st.error().message.c_str());
          return false;
        }
        break;
      case Kind::kValue:
      case Kind::kFile:
        out.values[o->key] = slot.value;
        break;
      case Kind::kFlag:
        out.values[o->key] = "yes";
        break;
    }
    if (list.empty()) out.lists.erase(o->key);
  }
  return true;
}

int run(const MirrorArgs& a, const RegistryArgs& ra) {
  LogFormat fmt = parse_log_format(a.log_format);
  LogLevel lvl = parse_log_level(a.log_level);
  Logger logger(lvl, fmt, stderr);
  bool tty = ::isatty(STDERR_FILENO) == 1;
  ProgressLine progress(stderr, system_clock(), (tty || a.progress) && !a.quiet && fmt == LogFormat::kText);
  logger.set_line_hooks([&] { progress.clear(); }, [&] { progress.redraw(); });

  MirrorPass pass;
  pass.kind = a.kind;
  pass.dest = a.dir;
  pass.target = a.target;
  pass.source.upstream = a.upstream;
  if (const RegistryDescriptor* r = find_registry(a.kind); r != nullptr && r->factory) {
    if (!apply_registry_options(ra, *r, pass.source)) return kExitUsage;
  }  // else make_source names the known kinds
  pass.options = engine_options(a.kind, a.upstream, a.engine);
  pass.options.rebuild_state = a.target.rebuild_state;
  MirrorReport report = run_mirror_pass(pass, logger, system_clock(),
                                        [&](const MirrorProgress& p) { progress.update(p); });
  progress.clear();
  logger.set_line_hooks(nullptr, nullptr);
  print_summary(a, report);
  return exit_code_for(report.outcome);
}

// One option per flag of every mirrorable registry; the help says which registries take it.
void add_registry_options(CLI::App& cmd, RegistryArgs& ra) {
  using Kind = RegistryOption::Kind;
  for (const RegistryDescriptor* r : registries()) {
    if (!r->factory) continue;
    for (const RegistryOption& o : r->options) {
      RegistryArgs::Slot& slot = ra.by_flag[o.flag];
      slot.kind = o.kind;
      slot.help += (slot.help.empty() ? "" : "; ") + r->name + ": " + o.help;
    }
  }
  for (auto& [flag, slot] : ra.by_flag) {
    switch (slot.kind) {
      case Kind::kList:
        slot.option = cmd.add_option(flag, slot.items, slot.help + " (comma-separated, repeatable)")
                          ->delimiter(',');
        break;
      case Kind::kListFile:
        slot.option = cmd.add_option(flag, slot.value,
                                     slot.help + " (one per line; '#' starts a comment)")
                          ->check(CLI::ExistingFile);
        break;
      case Kind::kValue:
        slot.option = cmd.add_option(flag, slot.value, slot.help);
        break;
      case Kind::kFile:
        slot.option = cmd.add_option(flag, slot.value, slot.help)->check(CLI::ExistingFile);
        break;
      case Kind::kFlag:
        slot.option = cmd.add_flag(flag, slot.set, slot.help);
        break;
    }
  }
}

}  // namespace

void add_mirror_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<MirrorArgs>();
  auto registry_args = std::make_shared<RegistryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "mirror", "Mirror a registry into a directory: incremental, verified, never inconsistent");
  cmd->footer(kExitHelp);
  std::string kinds, upstreams;
  for (const std::string& name : source_names()) {
    kinds += (kinds.empty() ? "" : ", ") + name;
    upstreams += "; " + name + ": " + find_registry(name)->upstream_help;
  }
  cmd->add_option("kind", args->kind, "Registry kind: " + kinds)->required();
  cmd->add_option("upstream", args->upstream, "Upstream URL" + upstreams)->required();
  cmd->add_option("dir", args->dir,
                  "Mirror directory (created if missing), s3://bucket/prefix with --s3-endpoint, or "
                  "cluster+http://host:port/prefix of a cluster gateway")
      ->required();
  add_target_options(*cmd, args->target);
  add_registry_options(*cmd, *registry_args);
  cmd->add_option("--index-grace", args->engine.index_grace_hours,
                  "Hours to keep index files no index names any more (superseded by-hash files), "
                  "so clients holding the previous root can finish; 0 removes them at once")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 24.0 * 365));
  cmd->add_option("--concurrency", args->engine.concurrency,
                  "Fixed number of parallel downloads per host (default: scales by itself)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-concurrency", args->engine.max_concurrency,
                  "Per-host cap of the self-scaling concurrency: it doubles from 8 while "
                  "throughput doubles, then grows in steps while they pay, and halves on "
                  "429/503/timeouts; lower it for a small server")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--threads", args->engine.threads,
                  "Download loops, each on its own thread; per-host limits are shared among them")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--retries", args->engine.file_retries,
                  "Retries of a transient failure per file, with exponential backoff")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  cmd->add_option("--connect-timeout", args->engine.connect_timeout, "Connect timeout, seconds")
      ->capture_default_str();
  cmd->add_option("--stall-timeout", args->engine.stall_timeout,
                  "Fail (and retry) a transfer that receives nothing for this many seconds")
      ->capture_default_str();
  cmd->add_flag("--no-delete", args->engine.no_delete, "Keep files no index names any more");
  cmd->add_flag("--force", args->engine.force,
                "Remove stale files even beyond --delete-limit, and accept an upstream root "
                "dated before the mirrored one");
  cmd->add_option("--delete-limit", args->engine.delete_limit,
                  "Refuse to remove more than this share of the mirror in one run "
                  "(removals of up to 10 files are always allowed)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  add_log_options(*cmd, args->log_format, args->log_level,
                  "Log format on stderr: text or json (one JSON object per event; the summary "
                  "too)");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress line");
  cmd->add_flag("--progress", args->progress, "Progress line even when stderr is not a terminal");
  cmd->callback([args, registry_args, &exit_code] { exit_code = run(*args, *registry_args); });
}

}  // namespace depot
