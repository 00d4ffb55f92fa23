#include "site/site_routes.h"

#include <nlohmann/json.hpp>

#include "status_page_sql.h"

namespace depot::site {
namespace {

using Json = nlohmann::json;

pool::ControlResponse json_reply(int status, const Json& body) {
  return {status, body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

pool::ControlResponse error_reply(const Error& e) {
  int status = e.code == ErrorCode::kNotFound          ? 404
               : e.code == ErrorCode::kRefused         ? 409
               : e.code == ErrorCode::kInvalidArgument ? 400
                                                       : 500;
  return json_reply(status, {{"error", e.message}});
}

// "/site/jobs/NAME/OP" -> {NAME, OP}; false for anything else.
bool split_job_target(std::string_view path, std::string& name, std::string& op) {
  constexpr std::string_view kPrefix = "/site/jobs/";
  if (!path.starts_with(kPrefix)) return false;
  path.remove_prefix(kPrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return false;
  name = std::string(path.substr(0, slash));
  op = std::string(path.substr(slash + 1));
  return valid_job_name(name) && !op.empty();
}

size_t bytes_param(std::string_view query) {
  constexpr std::string_view kKey = "bytes=";
  size_t at = query.find(kKey);
  if (at == std::string_view::npos) return 64 * 1024;
  size_t n = 0;
  for (char c : query.substr(at + kKey.size())) {
    if (c < '0' || c > '9' || n > (64u << 20)) break;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return std::clamp<size_t>(n, 1, 16u << 20);
}

// The page needs its own inline script and style and fetches status.json from its origin.
constexpr const char* kPageSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

}  // namespace

std::string_view status_page_html() { return kStatusPageHtml; }

std::optional<LocalRoutes::Page> SiteRoutes::page(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/_depot") return Page{"", "", "/_depot/", {}};
  if (path == "/_depot/status.json") {
    return Page{"application/json",
                render_status_json(service_.snapshot()) + "\n",
                "",
                {{"Cache-Control", "no-store"}, {"Access-Control-Allow-Origin", "*"}}};
  }
  if (path == "/_depot/" || path == "/_depot/index.html") {
    return Page{"text/html; charset=utf-8",
                std::string(status_page_html()),
                "",
                {{"Cache-Control", "no-cache"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Content-Security-Policy", kPageSecurityPolicy}}};
  }
  return std::nullopt;
}

std::string SiteRoutes::metrics() { return render_job_metrics(service_.snapshot()); }

pool::ControlResponse site_control(SiteService& service, const ReloadFn& reload,
                                   const pool::ControlRequest& request) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
  if (path == "/site/jobs" && request.method == "GET") {
    return {200, render_status_json(service.snapshot())};
  }
  if (path == "/site/reload" && request.method == "POST") {
    if (Status st = reload(); !st.ok()) return error_reply(st.error());
    return json_reply(200, {{"ok", true}, {"jobs", service.job_count()}});
  }
  std::string name, op;
  if (!split_job_target(path, name, op)) {
    return json_reply(404, {{"error", "no such control route: " + std::string(path)}});
  }
  if (op == "log" && request.method == "GET") {
    auto tail = service.log_tail(name, bytes_param(query));
    if (!tail.ok()) return error_reply(tail.error());
    return json_reply(200, {{"log", *tail}});
  }
  if (request.method != "POST") return json_reply(405, {{"error", "use POST for " + op}});
  const bool force = query == "force=1";
  if (Status st = service.control(op, name, force); !st.ok()) return error_reply(st.error());
  return json_reply(200, {{"ok", true}});
}

}  // namespace depot::site
