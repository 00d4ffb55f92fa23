// Exchange's administrative routes (`depot cluster add-node|remove-node|rebalance|fsck`), all
// needing the full role:
//   POST   /_depot/v1/cluster/nodes      {"name","url"}  add a node          -> 201
//   DELETE /_depot/v1/cluster/nodes      {"name"}        drain, then remove  -> 202 / 200
//   POST   /_depot/v1/cluster/rebalance                  start a pass         -> 202 / 409
//   POST   /_depot/v1/cluster/fsck?repair=1&rebuild=1    check (and mend)     -> 200 report

#include <nlohmann/json.hpp>

#include "cluster/gateway_exchange.h"
#include "core/text.h"
#include "transfer/http_util.h"

namespace depot::cluster {

namespace http = boost::beast::http;
using json = nlohmann::ordered_json;

namespace {

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kRefused: return 409;
    default: return 500;
  }
}

}  // namespace

std::optional<std::string> Exchange::small_body(size_t limit) {
  auto length = parser_->content_length();
  if (length && *length > limit) {
    refuse(413, "the body may have at most " + std::to_string(limit) + " bytes");
    return std::nullopt;
  }
  std::string body;
  char buf[4096];
  for (;;) {
    long n = read_body(buf, sizeof buf);
    if (n < 0) {
      keep_alive_ = false;
      return std::nullopt;
    }
    if (n == 0) return body;
    body.append(buf, static_cast<size_t>(n));
    if (body.size() > limit) {
      refuse(413, "the body may have at most " + std::to_string(limit) + " bytes");
      return std::nullopt;
    }
  }
}

bool Exchange::route_admin(std::string_view route, std::string_view query) {
  if (!opts_.auth) {
    return refuse(403, "this gateway is read-only (it was started without --auth-file)");
  }
  std::optional<Role> r = role();
  if (!r) return keep_alive_;
  if (*r == Role::kNone) {
    return refuse(401, "this needs a token (Authorization: Bearer)", {{"WWW-Authenticate", "Bearer"}});
  }
  if (*r < Role::kFull) return refuse(403, "this needs the full role");
  const bool post = parser_->get().method() == http::verb::post;
  if (route == "/_depot/v1/cluster/nodes") return admin_nodes();
  if (route == "/_depot/v1/cluster/fsck" && post) return admin_fsck(query);
  if (route == "/_depot/v1/cluster/rebalance" && post) {
    const bool started = gw_.start_rebalance();
    return send_json(started ? 202 : 409, {{"started", started}, {"running", true}});
  }
  return refuse(404, std::string(route) + ": no such gateway API");
}

bool Exchange::admin_nodes() {
  auto body = small_body(64 * 1024);
  if (!body) return keep_alive_;
  auto j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return refuse(400, "the body must be a JSON object with \"name\" (and \"url\" to add)");
  }
  const std::string name = j["name"];
  if (parser_->get().method() == http::verb::post) {
    std::string url = j.value("url", "");
    while (url.ends_with('/')) url.pop_back();
    if (!is_http_url(url) && !url.starts_with("s3://")) {
      return refuse(400, "\"url\" must start with http://, https:// or s3://");
    }
    if (Status st = gw_.add_node({name, url, ""}); !st.ok()) {
      return refuse(status_of(st.error()), st.error().message);
    }
    return send_json(201, {{"added", name}, {"url", url}});
  }
  // DELETE: drains first; removes once the node holds nothing the cluster needs.
  Status st = gw_.remove_node(name);
  if (st.ok()) return send_json(200, {{"removed", name}});
  if (st.error().code == ErrorCode::kRefused) {
    if (Status d = gw_.drain_node(name); !d.ok()) return refuse(status_of(d.error()), d.error().message);
    return send_json(202, {{"draining", name}, {"why", st.error().message}});
  }
  return refuse(status_of(st.error()), st.error().message);
}

bool Exchange::admin_fsck(std::string_view query) {
  const bool rebuild = query_value(query, "rebuild").value_or("0") == "1";
  const bool repair = query_value(query, "repair").value_or("0") == "1";
  if (rebuild) {
    if (Status st = gw_.rebuild(); !st.ok()) return refuse(502, st.error().message);
  }
  const Gateway::PassReport rep =
      gw_.run_pass(repair ? Gateway::PassMode::kRepair : Gateway::PassMode::kCheck);
  return send_json(200, {{"rebuilt", rebuild},
                              {"repaired", repair},
                              {"paths", rep.paths},
                              {"short_paths", rep.short_paths},
                              {"lost_paths", rep.lost_paths},
                              {"extra_copies", rep.extra_copies},
                              {"misplaced", rep.misplaced},
                              {"copied", rep.copied},
                              {"copied_bytes", rep.copied_bytes},
                              {"trimmed", rep.trimmed},
                              {"failed", rep.failed}});
}

}  // namespace depot::cluster
