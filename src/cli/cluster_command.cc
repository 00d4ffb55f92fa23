// `depot cluster serve|status|whereis`: the gateway in front of storage nodes, and its clients.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <toml++/toml.h>
#include <thread>
#include <vector>

#include "cli/cli_util.h"
#include "cli/cluster_backends.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cluster/gateway.h"
#include "cluster/gateway_server.h"
#include "cluster/node_client.h"
#include "core/file_io.h"
#include "core/logger.h"
#include "serve/auth_file.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

struct GatewayArgs {
  std::string config;
  std::string name = "gateway";
  std::string listen = "127.0.0.1:8090";
  std::string port_file;
  std::string state;
  std::vector<std::string> nodes;  // NAME=URL
  int copies = 2;
  std::string auth_file;
  std::string node_token;
  std::string mode = "proxy";
  double check_interval = 2;
  double down_grace = 60;
  double repair_interval = 600;
  int max_connections = 512;
  std::string log_format = "text", log_level = "info";
};

struct ClientArgs {
  std::string gateway;
  std::string path;  // whereis: the path; add-node: NAME=URL; remove-node: NAME
  bool json = false;
  bool repair = false, rebuild = false;
};

// Settings of a cluster.toml: keys as the long options (name, listen, state, copies, mode,
// auth_file, node_token, check_interval) and [[node]] tables with name and url. Options given
// on the command line win.
std::string read_config(const std::string& file, GatewayArgs& a, const CLI::App& cmd) {
  toml::table t;
  try {
    t = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    return file + ": " + std::string(e.description());
  }
  auto set = [&](const char* key, const char* flag, auto& out) {
    using T = std::decay_t<decltype(out)>;
    if (cmd.count(flag) > 0) return;
    if (auto v = t[key].value<T>()) out = *v;
  };
  set("name", "--name", a.name);
  set("listen", "--listen", a.listen);
  set("state", "--state", a.state);
  set("copies", "--copies", a.copies);
  set("mode", "--mode", a.mode);
  set("auth_file", "--auth-file", a.auth_file);
  set("node_token", "--node-token", a.node_token);
  set("check_interval", "--check-interval", a.check_interval);
  set("down_grace", "--down-grace", a.down_grace);
  set("repair_interval", "--repair-interval", a.repair_interval);
  if (cmd.count("--node") > 0) return "";
  if (auto* arr = t["node"].as_array()) {
    for (auto& el : *arr) {
      auto* n = el.as_table();
      auto name = n ? (*n)["name"].value<std::string>() : std::nullopt;
      auto url = n ? (*n)["url"].value<std::string>() : std::nullopt;
      if (!name || !url) return file + ": every [[node]] needs name and url";
      a.nodes.push_back(*name + "=" + *url);
    }
  }
  return "";
}

// The options checked into GatewayOptions; "" or why they are wrong.
std::string gateway_options(const GatewayArgs& a, cluster::GatewayOptions& o) {
  if (!valid_node_name(a.name)) return "--name: 1 to 64 of A-Z a-z 0-9 . _ -";
  if (a.state.empty()) return "--state DIR is required (the gateway's location log)";
  if (a.nodes.empty()) return "at least one --node NAME=URL is required";
  if (a.copies < 1) return "--copies must be 1 or more";
  if (a.mode != "proxy" && a.mode != "redirect") return "--mode must be proxy or redirect";
  std::string token = a.node_token;
  if (token.empty()) {
    if (const char* env = std::getenv("DEPOT_NODE_TOKEN")) token = env;
  }
  for (const std::string& spec : a.nodes) {
    size_t eq = spec.find('=');
    std::string name = spec.substr(0, eq == std::string::npos ? 0 : eq);
    std::string url = eq == std::string::npos ? "" : spec.substr(eq + 1);
    while (url.ends_with('/')) url.pop_back();
    if (!valid_node_name(name)) return "--node " + spec + ": expected NAME=URL, NAME of A-Z a-z 0-9 . _ -";
    if (std::string bad = check_node_url(url); !bad.empty()) return "--node " + spec + ": " + bad;
    for (const auto& n : o.nodes) {
      if (n.name == name) return "--node " + name + " is given twice";
    }
    o.nodes.push_back({name, url, token});
  }
  if (static_cast<size_t>(a.copies) > o.nodes.size()) {
    return "--copies " + std::to_string(a.copies) + " needs at least as many nodes";
  }
  o.backend_factory = make_node_backend;
  o.node_token = token;
  o.name = a.name;
  o.state_dir = a.state;
  o.copies = a.copies;
  o.check_interval = std::chrono::milliseconds(static_cast<int64_t>(a.check_interval * 1000));
  o.down_grace = std::chrono::milliseconds(static_cast<int64_t>(a.down_grace * 1000));
  o.repair_interval = std::chrono::milliseconds(static_cast<int64_t>(a.repair_interval * 1000));
  if (a.check_interval <= 0 || a.down_grace < 0 || a.repair_interval < 0) {
    return "--check-interval must be above 0, --down-grace and --repair-interval 0 or more";
  }
  return "";
}

int run_gateway(GatewayArgs a, const CLI::App& cmd) {
  Logger logger(parse_log_level(a.log_level), parse_log_format(a.log_format), stderr);
  auto usage = [&](const std::string& what) {
    logger.error("usage", {{"error", what}});
    return kExitUsage;
  };
  if (!a.config.empty()) {
    if (std::string bad = read_config(a.config, a, cmd); !bad.empty()) return usage(bad);
  }
  cluster::GatewayOptions go;
  if (std::string bad = gateway_options(a, go); !bad.empty()) return usage(bad);
  cluster::GatewayServerOptions so;
  if (!parse_host_port(a.listen, so.host, so.port)) return usage("--listen: expected HOST:PORT");
  so.redirect = a.mode == "redirect";
  so.max_connections = a.max_connections;
  std::optional<AuthTable> auth;
  if (!a.auth_file.empty()) {
    auto loaded = AuthTable::load(a.auth_file);
    if (!loaded.ok()) return usage(loaded.error().message);
    auth = std::move(*loaded);
    so.auth = &*auth;
  }
  ::signal(SIGPIPE, SIG_IGN);
  cluster::Gateway gateway(go, logger);
  if (Status st = gateway.start(); !st.ok()) {
    logger.error("cluster_failed", {{"state", a.state}, {"error", st.error().message}});
    return kExitStorage;
  }
  cluster::GatewayServer server(so, gateway, logger);
  auto port = server.listen();
  if (!port.ok()) {
    logger.error("listen_failed", {{"error", port.error().message}});
    return kExitStorage;
  }
  if (!announce_listening(a.port_file, so.host, *port, logger)) return kExitStorage;
  logger.info("cluster_started", {{"name", go.name},
                                  {"port", static_cast<int>(*port)},
                                  {"nodes", static_cast<uint64_t>(go.nodes.size())},
                                  {"copies", go.copies},
                                  {"writable", auth ? "yes" : "no (no --auth-file)"}});
  server.run();
  gateway.stop();
  return kExitComplete;
}

// The gateway of --gateway or DEPOT_GATEWAY, with DEPOT_TOKEN; nullopt (after saying why)
// when none is given.
std::optional<cluster::NodeClient> gateway_client(const ClientArgs& a) {
  std::string gw = a.gateway;
  if (gw.empty()) {
    if (const char* env = std::getenv("DEPOT_GATEWAY")) gw = env;
  }
  while (gw.ends_with('/')) gw.pop_back();
  if (!is_http_url(gw)) {
    std::fprintf(stderr, "depot cluster: give the gateway as --gateway URL or DEPOT_GATEWAY\n");
    return std::nullopt;
  }
  const char* token = std::getenv("DEPOT_TOKEN");
  return cluster::NodeClient({"gateway", gw, token ? token : ""});
}

// GET of a gateway API route; prints the JSON or a summary. Exit 3 when unreachable.
int run_client(const ClientArgs& a, const std::string& route,
               void (*summary)(const nlohmann::json&)) {
  auto client = gateway_client(a);
  if (!client) return kExitUsage;
  auto body = client->api_get(route);
  if (!body.ok()) {
    std::fprintf(stderr, "depot cluster: %s\n", body.error().message.c_str());
    return kExitUpstream;
  }
  if (a.json) {
    std::fputs(body->c_str(), stdout);
    return kExitComplete;
  }
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "depot cluster: %s%s: not JSON\n", client->endpoint().url.c_str(),
                 route.c_str());
    return kExitUpstream;
  }
  summary(j);
  return kExitComplete;
}

// An administrative request: prints the answer's JSON; exit 0 on 2xx, 3 unreachable, 1 else.
int run_admin(const ClientArgs& a, const char* method, const std::string& route,
              const std::string& body, long* status = nullptr) {
  auto client = gateway_client(a);
  if (!client) return kExitUsage;
  auto answer = client->api_request(method, route, body, std::chrono::hours(6));
  if (!answer.ok()) {
    std::fprintf(stderr, "depot cluster: %s\n", answer.error().message.c_str());
    return kExitUpstream;
  }
  if (status) *status = answer->status;
  std::fputs(answer->body.c_str(), answer->status < 300 ? stdout : stderr);
  return answer->status < 300 ? kExitComplete : kExitFilesFailed;
}

// Polls the gateway's status until `done` says so; prints the last status. Exit as run_client.
int wait_until(const ClientArgs& a, bool (*done)(const nlohmann::json&, const std::string&),
               const std::string& arg) {
  auto client = gateway_client(a);
  if (!client) return kExitUsage;
  for (;;) {
    auto body = client->api_get("/_depot/v1/cluster/status");
    if (!body.ok()) {
      std::fprintf(stderr, "depot cluster: %s\n", body.error().message.c_str());
      return kExitUpstream;
    }
    auto j = nlohmann::json::parse(*body, nullptr, false);
    if (!j.is_discarded() && done(j, arg)) return kExitComplete;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

bool rebalance_done(const nlohmann::json& j, const std::string&) {
  return !j.value("rebalancing", true);
}

void print_status(const nlohmann::json& j) {
  std::printf("gateway %s: %lu paths, %lu copies (wanted %d each)\n",
              j.value("name", "").c_str(), j.value("paths", 0ul), j.value("copies", 0ul),
              j.value("copies_wanted", 0));
  const auto& r = j["repair"];
  std::printf("repair: %lu passes, %lu copies made (%lu bytes), %lu trimmed, %lu failed; "
              "%lu paths short of copies, %lu with none live\n",
              r.value("passes", 0ul), r.value("copied", 0ul), r.value("copied_bytes", 0ul),
              r.value("trimmed", 0ul), r.value("failed", 0ul), r.value("short_paths", 0ul),
              r.value("lost_paths", 0ul));
  for (const auto& n : j["nodes"]) {
    std::printf("  %-16s %-4s used %lu of %lu, free %lu, %lu files%s%s\n",
                n.value("name", "").c_str(), n.value("up", false) ? "up" : "DOWN",
                n.value("used", 0ul), n.value("capacity", 0ul), n.value("free", 0ul),
                n.value("files", 0ul), n.value("error", "").empty() ? "" : "  ",
                n.value("error", "").c_str());
  }
}

void print_whereis(const nlohmann::json& j) {
  std::printf("%s: %zu of %d copies\n", j.value("path", "").c_str(), j["copies"].size(),
              j.value("wanted", 0));
  for (const auto& c : j["copies"]) {
    std::printf("  %-16s %s %lu bytes sha256 %s\n", c.value("node", "").c_str(),
                c.value("up", false) ? "up  " : "DOWN", c.value("size", 0ul),
                c.value("sha256", "").c_str());
  }
  std::string placement;
  for (const auto& p : j["placement"]) placement += " " + p.get<std::string>();
  std::printf("  placement:%s\n", placement.c_str());
}

// add-node, remove-node, rebalance, fsck.
void add_admin_commands(CLI::App& cluster, std::shared_ptr<ClientArgs> ca, int& exit_code) {
  auto gateway_option = [&](CLI::App* cmd) {
    cmd->add_option("--gateway", ca->gateway, "gateway URL (or DEPOT_GATEWAY); DEPOT_TOKEN: a full token");
  };
  auto* add = cluster.add_subcommand("add-node", "add a storage node (then rebalance)");
  add->add_option("NODE", ca->path, "NAME=URL")->required();
  gateway_option(add);
  add->callback([ca, &exit_code] {
    size_t eq = ca->path.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "depot cluster add-node: expected NAME=URL\n");
      exit_code = kExitUsage;
      return;
    }
    nlohmann::json body{{"name", ca->path.substr(0, eq)}, {"url", ca->path.substr(eq + 1)}};
    exit_code = run_admin(*ca, "POST", "/_depot/v1/cluster/nodes", body.dump());
  });
  auto* remove = cluster.add_subcommand(
      "remove-node", "drain a node (its copies move to others), then remove it");
  remove->add_option("NAME", ca->path, "node name")->required();
  gateway_option(remove);
  remove->callback([ca, &exit_code] {
    const std::string body = nlohmann::json{{"name", ca->path}}.dump();
    long status = 0;
    exit_code = run_admin(*ca, "DELETE", "/_depot/v1/cluster/nodes", body, &status);
    if (exit_code != kExitComplete || status != 202) return;
    // Draining: asked again after each pass until the node is gone.
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      exit_code = run_admin(*ca, "DELETE", "/_depot/v1/cluster/nodes", body, &status);
      if (exit_code != kExitComplete || status == 200) return;
    }
  });
  auto* rebalance = cluster.add_subcommand(
      "rebalance", "move copies onto the nodes placement now picks, never below R");
  gateway_option(rebalance);
  rebalance->callback([ca, &exit_code] {
    exit_code = run_admin(*ca, "POST", "/_depot/v1/cluster/rebalance", "");
    if (exit_code == kExitComplete) {
      exit_code = wait_until(*ca, rebalance_done, "");
      if (exit_code == kExitComplete) exit_code = run_client(*ca, "/_depot/v1/cluster/status", print_status);
    }
  });
  auto* fsck = cluster.add_subcommand("fsck", "check every path's copies");
  fsck->add_flag("--repair", ca->repair, "make missing copies, trim extra ones");
  fsck->add_flag("--rebuild", ca->rebuild, "first rebuild the location log from the nodes");
  gateway_option(fsck);
  fsck->callback([ca, &exit_code] {
    std::string route = "/_depot/v1/cluster/fsck?repair=" + std::string(ca->repair ? "1" : "0") +
                        "&rebuild=" + (ca->rebuild ? "1" : "0");
    exit_code = run_admin(*ca, "POST", route, "");
  });
}

}  // namespace

void add_cluster_command(CLI::App& app, int& exit_code) {
  auto* cluster = app.add_subcommand("cluster", "a gateway in front of storage nodes");
  cluster->require_subcommand(1);

  auto ga = std::make_shared<GatewayArgs>();
  auto* serve = cluster->add_subcommand("serve", "run the gateway");
  serve->add_option("--config", ga->config, "cluster.toml (command-line options win)");
  serve->add_option("--name", ga->name, "the gateway's name (X-Depot-Via, logs)")->capture_default_str();
  serve->add_option("--listen", ga->listen, "HOST:PORT (port 0: any free port)")->capture_default_str();
  serve->add_option("--port-file", ga->port_file, "write the bound port here");
  serve->add_option("--state", ga->state, "directory of the location log");
  serve->add_option("--node", ga->nodes,
                    "NAME=URL of a storage node, or NAME=s3://BUCKET/PREFIX?endpoint=URL (repeat)");
  serve->add_option("--copies", ga->copies, "copies of every file (R)")->capture_default_str();
  serve->add_option("--auth-file", ga->auth_file, "clients' tokens and roles; without it, read-only");
  serve->add_option("--node-token", ga->node_token, "token for the nodes (or DEPOT_NODE_TOKEN)");
  serve->add_option("--mode", ga->mode, "proxy or redirect")->capture_default_str();
  serve->add_option("--check-interval", ga->check_interval, "seconds between node checks")
      ->capture_default_str();
  serve->add_option("--down-grace", ga->down_grace,
                    "seconds a node may be down before its copies are made again elsewhere")
      ->capture_default_str();
  serve->add_option("--repair-interval", ga->repair_interval,
                    "seconds between full repair passes (0: only when something changed)")
      ->capture_default_str();
  serve->add_option("--max-connections", ga->max_connections, "client connections at once")
      ->capture_default_str();
  add_log_options(*serve, ga->log_format, ga->log_level, "stderr log format");
  serve->callback([ga, serve, &exit_code] { exit_code = run_gateway(*ga, *serve); });

  auto ca = std::make_shared<ClientArgs>();
  auto* status = cluster->add_subcommand("status", "nodes, health and counts of a gateway");
  status->add_option("--gateway", ca->gateway, "gateway URL (or DEPOT_GATEWAY)");
  status->add_flag("--json", ca->json, "print the gateway's JSON");
  status->callback([ca, &exit_code] {
    exit_code = run_client(*ca, "/_depot/v1/cluster/status", print_status);
  });
  add_admin_commands(*cluster, ca, exit_code);
  auto* whereis = cluster->add_subcommand("whereis", "which nodes hold a path");
  whereis->add_option("PATH", ca->path, "path in the cluster")->required();
  whereis->add_option("--gateway", ca->gateway, "gateway URL (or DEPOT_GATEWAY)");
  whereis->add_flag("--json", ca->json, "print the gateway's JSON");
  whereis->callback([ca, &exit_code] {
    exit_code = run_client(*ca, "/_depot/v1/cluster/whereis?path=" + aws_uri_encode(ca->path, true),
                           print_whereis);
  });
}

}  // namespace depot
