// `depot ctl list|start NAME|stop NAME|disable NAME|enable NAME|logs NAME|reload`: the client
// of a running `depot run`'s control socket.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "pool/control_api.h"
#include "site/site_config.h"

namespace depot {
namespace {

using Json = nlohmann::json;

struct CtlArgs {
  std::string config = "/etc/depot/depot.toml";
  std::string socket;  // overrides the config's
  std::string op, name;
  bool json = false;
  size_t bytes = 64 * 1024;
};

std::string when(int64_t ts) {
  if (ts <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

void print_jobs(const Json& jobs) {
  std::printf("%-20s %-9s %-17s %-17s %-10s %s\n", "NAME", "STATUS", "LAST SUCCESS (UTC)",
              "NEXT (UTC)", "SIZE", "ERROR");
  for (const Json& j : jobs) {
    std::string status = j.value("status", "");
    if (j.value("queued", false)) status += "*";
    std::printf("%-20s %-9s %-17s %-17s %-10s %s\n", j.value("name", "").c_str(), status.c_str(),
                when(j.value("last_update_ts", int64_t{0})).c_str(),
                when(j.value("next_schedule_ts", int64_t{0})).c_str(), j.value("size", "").c_str(),
                j.value("status", "") == "failed" ? j.value("error", "").c_str() : "");
  }
}

int run(const CtlArgs& a) {
  std::string socket = a.socket;
  if (socket.empty()) {
    auto cfg = site::load_site_config(a.config);
    if (!cfg.ok()) {  // said, and the socket still found when the file names it
      std::fprintf(stderr, "depot ctl: %s\n", cfg.error().message.c_str());
      auto located = site::locate_control_socket(a.config);
      if (!located.ok() || a.op == "reload") return kExitUsage;
      socket = *located;
    } else {
      socket = cfg->control_socket;
    }
  }
  bool needs_name = a.op != "list" && a.op != "reload";
  if (needs_name && !site::valid_job_name(a.name)) {
    std::fprintf(stderr, "depot ctl %s: NAME is required: 1 to 64 of A-Z a-z 0-9 . _ -\n",
                 a.op.c_str());
    return kExitUsage;
  }
  std::string method = a.op == "list" || a.op == "logs" ? "GET" : "POST";
  std::string target = a.op == "list"     ? "/site/jobs"
                       : a.op == "reload" ? "/site/reload"
                       : a.op == "logs"
                           ? "/site/jobs/" + a.name + "/log?bytes=" + std::to_string(a.bytes)
                           : "/site/jobs/" + a.name + "/" + a.op;
  auto reply = pool::control_call(socket, method, target, "", std::chrono::seconds(60));
  if (!reply.ok()) {
    std::fprintf(stderr, "depot ctl: %s\n", reply.error().message.c_str());
    return kExitStorage;
  }
  Json body = Json::parse(reply->body, nullptr, false);
  if (reply->status != 200) {
    std::string why = body.is_object() ? body.value("error", reply->body) : reply->body;
    std::fprintf(stderr, "depot ctl %s: %s\n", a.op.c_str(), why.c_str());
    return reply->status == 404 || reply->status == 400 ? kExitUsage : 1;
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
  cmd->add_option("--config,-c", args->config, "The site's depot.toml (names the control socket)")
      ->capture_default_str();
  cmd->add_option("--socket", args->socket, "The control socket (instead of --config)");
  cmd->add_option("--bytes", args->bytes, "logs: how much of the end of the log")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the answer as JSON");
  cmd->footer(
      "start runs a job now (and resumes a stopped one); stop cancels its run and pauses it\n"
      "until start; disable stops it and keeps it off across restarts until enable.");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace depot
