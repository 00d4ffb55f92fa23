// `depot ctl list|start NAME|stop NAME|disable NAME|enable NAME|logs NAME|reload`: the client
// of a running `depot run`'s control socket.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "pool/control_api.h"
#include "site/site_config.h"

namespace depot {
namespace {

using Json = nlohmann::json;

struct CtlArgs {
  std::string config = "/etc/depot/depot.toml";
  bool config_given = false;  // --config on the command line
  std::string socket;         // overrides the config's
  std::string op, name;
  bool json = false;
  bool force = false;  // start only
  size_t bytes = 64 * 1024;
};

// Says an error: "depot ctl[ OP]: MESSAGE" on stderr, or with --json {"error": MESSAGE} on
// stdout (as `depot repo --json` prints the daemon's error object). Returns `code`.
int fail(const CtlArgs& a, bool with_op, const std::string& message, int code) {
  if (a.json) {
    std::printf(
        "%s\n",
        Json{{"error", message}}.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(stderr, "depot ctl%s: %s\n", with_op ? (" " + a.op).c_str() : "", message.c_str());
  }
  return code;
}

std::string when(int64_t ts) {
  if (ts <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

// "queued" for a due job waiting for a free slot that never ran, "failed, queued" for one that
// did.
std::string status_word(const Json& j) {
  std::string status = j.value("status", "");
  if (!j.value("queued", false)) return status;
  return status == "none" || status.empty() ? "queued" : status + ", queued";
}

void print_jobs(const Json& jobs) {
  std::printf("%-20s %-16s %-17s %-17s %-10s %s\n", "NAME", "STATUS", "LAST SUCCESS (UTC)",
              "NEXT (UTC)", "SIZE", "ERROR");
  for (const Json& j : jobs) {
    std::printf("%-20s %-16s %-17s %-17s %-10s %s\n", j.value("name", "").c_str(),
                status_word(j).c_str(), when(j.value("last_update_ts", int64_t{0})).c_str(),
                when(j.value("next_schedule_ts", int64_t{0})).c_str(), j.value("size", "").c_str(),
                j.value("status", "") == "failed" ? j.value("error", "").c_str() : "");
  }
}

// The command line alone: NAME for the job ops, nothing more for list and reload.
std::optional<std::string> usage_problem(const CtlArgs& a) {
  bool needs_name = a.op != "list" && a.op != "reload";
  if (!needs_name) {
    if (!a.name.empty()) return "takes no NAME: unexpected argument '" + a.name + "'";
    return std::nullopt;
  }
  if (a.force && a.op != "start") return "--force goes with start only";
  if (a.name.empty()) return "NAME is required";
  if (!site::valid_job_name(a.name)) {
    return "'" + a.name + "' is not a job name: " + site::kJobNameRule;
  }
  return std::nullopt;
}

// A 404 for a job: says whether the config file has it (then a reload would load it).
std::string no_such_job(const CtlArgs& a, const site::SiteConfig* cfg) {
  std::string msg = "the running site has no job named '" + a.name + "'";
  if (cfg == nullptr) return msg + " (a job new in its config needs `depot ctl reload` first)";
  if (cfg->find(a.name) == nullptr) return msg + ", nor has " + cfg->file.string();
  return msg + ": it is in " + cfg->file.string() + " but not loaded yet; run `depot ctl reload`";
}

int run(const CtlArgs& a) {
  if (auto problem = usage_problem(a)) return fail(a, true, *problem, kExitUsage);
  // The socket: --socket, else --config's, else $DEPOT_SOCKET (as `depot repo`), else the
  // default config's.
  std::string socket = a.socket;
  const char* env = std::getenv("DEPOT_SOCKET");
  if (socket.empty() && !a.config_given && env != nullptr && *env != '\0') socket = env;
  std::optional<site::SiteConfig> cfg;
  if (socket.empty()) {
    auto loaded = site::load_site_config(a.config);
    if (!loaded.ok()) {  // said, and the socket still found when the file names it
      auto located = site::locate_control_socket(a.config);
      if (!located.ok() || a.op == "reload") {
        return fail(a, false, loaded.error().message, kExitUsage);
      }
      std::fprintf(stderr, "depot ctl: %s\n", loaded.error().message.c_str());
      socket = *located;
    } else {
      cfg = std::move(*loaded);
      socket = cfg->control_socket;
    }
  }
  std::string method = a.op == "list" || a.op == "logs" ? "GET" : "POST";
  std::string target = a.op == "list"     ? "/site/jobs"
                       : a.op == "reload" ? "/site/reload"
                       : a.op == "logs"
                           ? "/site/jobs/" + a.name + "/log?bytes=" + std::to_string(a.bytes)
                           : "/site/jobs/" + a.name + "/" + a.op + (a.force ? "?force=1" : "");
  auto reply = pool::control_call(socket, method, target, "", std::chrono::seconds(60));
  if (!reply.ok()) return fail(a, false, reply.error().message, kExitStorage);
  Json body = Json::parse(reply->body, nullptr, false);
  if (reply->status != 200) {
    std::string why = body.is_object() ? body.value("error", reply->body) : reply->body;
    if (reply->status == 404 && !a.name.empty() && why.starts_with("no job named")) {
      why = no_such_job(a, cfg ? &*cfg : nullptr);
    }
    return fail(a, true, why, reply->status == 404 || reply->status == 400 ? kExitUsage : 1);
  }
  if (a.json) {
    std::printf("%s\n", reply->body.c_str());
  } else if (a.op == "list" && body.is_array()) {
    print_jobs(body);
  } else if (a.op == "logs" && body.is_object()) {
    std::fputs(body.value("log", "").c_str(), stdout);
  } else if (a.op == "reload") {
    std::printf("reloaded: %d jobs\n", body.value("jobs", 0));
  } else {
    std::printf("%s %s: ok\n", a.op.c_str(), a.name.c_str());
  }
  return kExitComplete;
}

}  // namespace

void add_ctl_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CtlArgs>();
  CLI::App* cmd =
      app.add_subcommand("ctl", "Control a running `depot run` over its control socket");
  cmd->add_option("op", args->op, "list, start, stop, disable, enable, logs or reload")
      ->required()
      ->check(CLI::IsMember({"list", "start", "stop", "disable", "enable", "logs", "reload"}));
  cmd->add_option("name", args->name, "The job (all but list and reload)");
  CLI::Option* config = cmd->add_option("--config,-c", args->config,
                                        "The site's depot.toml (names the control socket)")
                            ->capture_default_str();
  cmd->add_option("--socket", args->socket,
                  "The control socket (default: --config's, else $DEPOT_SOCKET, else "
                  "/etc/depot/depot.toml's)");
  cmd->add_option("--bytes", args->bytes, "logs: how much of the end of the log")
      ->capture_default_str();
  cmd->add_flag("--force", args->force,
                "start: this one run removes stale files beyond the job's delete-limit and "
                "accepts an upstream root older than the mirrored one (`depot mirror --force`)");
  cmd->add_flag("--json", args->json,
                "Print the answer as JSON (an error as {\"error\": ...} on stdout)");
  cmd->footer(
      "start runs a job now (and resumes a stopped one); stop cancels its run and pauses it\n"
      "until start; disable stops it and keeps it off across restarts until enable.\n"
      "list: STATUS 'queued' is a job due and waiting for a free slot.");
  cmd->callback([args, config, &exit_code] {
    args->config_given = config->count() > 0;
    exit_code = run(*args);
  });
}

}  // namespace depot
