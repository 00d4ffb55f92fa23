// Exchange's answers (see gateway_server.h for the routes and who may use them).

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cluster/gateway_exchange.h"
#include "core/digest.h"
#include "core/text.h"
#include "serve/http_semantics.h"
#include "serve/node_api.h"

namespace depot::cluster {

namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::ordered_json;

namespace {

// A proxied GET's body goes to the client in writes of about this size.
constexpr size_t kWriteChunk = 256 * 1024;
// Bodies at least this long are spliced from the node's socket to the client's (zero-copy);
// shorter ones are copied (the first 64 KiB of a body are copied anyway).
constexpr uint64_t kSpliceMin = 128 << 10;

json outcomes(const std::vector<NodeOutcome>& list, bool with_errors) {
  json a = json::array();
  for (const NodeOutcome& o : list) {
    if (!with_errors) {
      a.push_back(o.node);
    } else {
      a.push_back({{"node", o.node}, {"status", o.status}, {"error", o.message}});
    }
  }
  return a;
}

}  // namespace

bool Exchange::route_api(std::string_view target) {
  const std::string_view route = target.substr(0, target.find('?'));
  const std::string_view query =
      route.size() < target.size() ? target.substr(route.size() + 1) : std::string_view();
  if (route.starts_with("/_depot/v1/files/")) {
    auto path = node_file_path(route);
    if (!path.ok()) return refuse(400, path.error().message);
    return route_file(*path);
  }
  const auto verb = parser_->get().method();
  if (route.starts_with("/_depot/v1/cluster/") &&
      (verb == http::verb::post || verb == http::verb::delete_)) {
    return route_admin(route, query);
  }
  if (verb != http::verb::get && verb != http::verb::head) {
    return refuse(405, "only GET and HEAD here", {{"Allow", "GET, HEAD"}});
  }
  if (route == "/_depot/v1/status") return node_status();
  if (route == "/_depot/v1/inventory") {
    // A gateway keeps no change log of its own: a gateway in front of it finds its files by
    // asking (HEAD), and counts copies on the leaf nodes.
    return send_json(200, {{"node", gw_.options().name},
                                {"changes", json::array()},
                                {"last", 0},
                                {"more", false}});
  }
  if (route == "/_depot/v1/cluster/status") return cluster_status();
  if (route == "/_depot/v1/cluster/whereis") return whereis(query);
  if (route == "/_depot/v1/cluster/list") return list(query);
  return refuse(404, std::string(route) + ": no such gateway API");
}

bool Exchange::route_file(const RelPath& path) {
  const auto verb = parser_->get().method();
  if (verb == http::verb::get || verb == http::verb::head) return get_file(path);
  if (verb != http::verb::put && verb != http::verb::delete_) {
    return refuse(405, "GET, HEAD, PUT and DELETE only", {{"Allow", "GET, HEAD, PUT, DELETE"}});
  }
  if (!opts_.auth) {
    return refuse(403, "this gateway is read-only (it was started without --auth-file)");
  }
  std::optional<Role> r = role();
  if (!r) return keep_alive_;  // 401 sent
  if (*r == Role::kNone) {
    return refuse(401, "writing needs a token (Authorization: Bearer)",
                  {{"WWW-Authenticate", "Bearer"}});
  }
  return verb == http::verb::put ? put_file(path, *r) : delete_file(path, *r);
}

bool Exchange::get_file(const RelPath& path) {
  if (!parser_->is_done()) return refuse(413, "GET and HEAD take no body");
  auto where = gw_.locate(path.str(), forward_via());
  if (!where.ok()) {
    if (where.error().code == ErrorCode::kNotFound) {
      // A directory asked for without its slash: sent to it when it has an index.html.
      if (gw_.locate(path.str() + "/index.html", forward_via()).ok()) {
        const std::string target(parser_->get().target().data(), parser_->get().target().size());
        const size_t q = target.find('?');
        const std::string to = target.substr(0, q) + "/" + (q == std::string::npos ? "" : target.substr(q));
        return send(301, "text/plain", "", {{"Location", to}});
      }
      return refuse(404, where.error().message);
    }
    return refuse(503, where.error().message, {{"Retry-After", "5"}});
  }
  const std::string etag = "\"" + where->sha256 + "\"";
  const Validators v{.etag = etag, .last_modified = 0};
  const Precondition pre = evaluate_preconditions(
      {.if_match = header(http::field::if_match),
       .if_none_match = header(http::field::if_none_match),
       .if_modified_since = header(http::field::if_modified_since),
       .if_unmodified_since = header(http::field::if_unmodified_since)},
      v, true);
  if (pre == Precondition::kNotModified) return send(304, "text/plain", "", {{"ETag", etag}});
  if (pre == Precondition::kFailed) return refuse(412, "precondition failed");
  const RangeDecision range =
      evaluate_range(header(http::field::range), header(http::field::if_range), where->size, v);
  if (range.kind == RangeKind::kUnsatisfiable) {
    return refuse(416, "range not satisfiable",
                  {{"Content-Range", "bytes */" + std::to_string(where->size)}});
  }
  if (opts_.redirect) {
    if (auto url = gw_.redirect_url(path.str(), *where)) {
      return send(302, "text/plain", "", {{"Location", *url}});
    }
  }
  const bool partial = range.kind == RangeKind::kSatisfiable;
  const uint64_t first = partial ? range.range.first : 0;
  const uint64_t end = partial ? range.range.last + 1 : where->size;
  const int status = partial ? 206 : 200;
  std::string head = "HTTP/1.1 " + std::to_string(status) + (partial ? " Partial Content" : " OK");
  head += "\r\nServer: depot-gateway\r\nContent-Type: " +
          std::string(content_type_for(path.filename())) +
          "\r\nContent-Length: " + std::to_string(end - first) + "\r\nETag: " + etag +
          "\r\nAccept-Ranges: bytes\r\nX-Depot-Sha256: " + where->sha256 + "\r\n";
  if (partial) head += "Content-Range: " + content_range(range.range, where->size) + "\r\n";
  if (!keep_alive_) head += "Connection: close\r\n";
  head += "\r\n";
  status_ = status;
  if (head_only_ || first == end) return write_all(head) && keep_alive_;
  // The body is gathered into writes of kWriteChunk (the node's bytes come 16 KiB at a time),
  // the header in front of the first: a read that fails before any byte can still be
  // answered with an error.
  std::string out = std::move(head);
  out.reserve(out.size() + static_cast<size_t>(std::min<uint64_t>(end - first, kWriteChunk)));
  bool any_body = false;
  auto flush = [&] {
    const bool ok = out.empty() || write_all(out);
    out.clear();
    return ok;
  };
  SpliceOut splice{.fd = sock_.native_handle(), .flush = flush};
  Status st = gw_.read(path.str(), *where, first, end, [&](const char* data, size_t n) {
    any_body = true;
    gw_.metrics().bytes_sent += n;
    out.append(data, n);
    return out.size() < kWriteChunk || flush();
  }, forward_via(), end - first >= kSpliceMin ? &splice : nullptr);
  gw_.metrics().bytes_sent += splice.moved;
  gw_.metrics().bytes_spliced += splice.moved;
  if (!st.ok() && !any_body) return refuse(502, st.error().message, {{"Retry-After", "5"}});
  // After a failure, what was read goes out: the client sees a short body and the close.
  if (!out.empty() && !write_all(out)) return false;
  return st.ok() && keep_alive_;
}

long Exchange::read_body(char* out, size_t n) {
  auto& body = parser_->get().body();
  while (!parser_->is_done()) {
    body.data = out;
    body.size = n;
    beast::error_code ec;
    http::read_some(sock_, buf_, *parser_, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return -1;
    const size_t got = n - body.size;
    gw_.metrics().bytes_received += got;
    if (got > 0) return static_cast<long>(got);
  }
  return 0;
}

bool Exchange::put_file(const RelPath& path, Role r) {
  if (r < Role::kAppend) return refuse(403, "writing needs the append or full role");
  auto length = parser_->content_length();
  if (!length) return refuse(411, "PUT " + path.str() + " needs a Content-Length");
  const std::string sha(header("X-Depot-Sha256"));
  if (auto hex = normalize_hex_digest(DigestAlgo::kSha256, sha); !hex.ok() || *hex != sha) {
    return refuse(400, "PUT " + path.str() + " needs X-Depot-Sha256: the body's sha256 in "
                                             "lower-case hex");
  }
  if (r < Role::kFull && gw_.locate(path.str(), forward_via()).ok()) {
    return refuse(403, path.str() + " exists: replacing it needs the full role");
  }
  if (iequals(header(http::field::expect), "100-continue") &&
      !write_all("HTTP/1.1 100 Continue\r\n\r\n")) {
    return false;
  }
  // A gateway in front of this one asks for the leaf copies it counts on this node.
  size_t copies = 0;
  if (auto asked = parse_u64(trim(header("X-Depot-Copies"))); asked && *asked > 0) {
    copies = static_cast<size_t>(std::min<uint64_t>(*asked, 64));
  }
  PutReport rep = gw_.put(path.str(), *length, sha,
                          [this](char* out, size_t n) { return read_body(out, n); },
                          r == Role::kFull, forward_via(), copies);
  gw_.metrics().count_put(rep.status);
  discard_body();  // what the nodes did not take (all failed, or the answer came first)
  if (rep.status == 409 && r < Role::kFull && rep.message.find("exists") != std::string::npos) {
    rep.status = 403;
  }
  // Also the fields of a node's answer, so a gateway in front of this one reads it as one.
  json j{{"node", gw_.options().name},
         {"path", path.str()},
         {"size", *length},
         {"sha256", sha},
         {"seq", 0},
         {"status", rep.status},
         {"copies", copies == 0 ? static_cast<size_t>(gw_.options().copies) : copies},
         {"stored", outcomes(rep.stored, false)},
         {"failed", outcomes(rep.failed, true)}};
  if (!rep.message.empty()) j["message"] = rep.message;
  return send_json(rep.status, j);
}

bool Exchange::delete_file(const RelPath& path, Role r) {
  if (r < Role::kFull) return refuse(403, "deleting needs the full role");
  if (!parser_->is_done()) return refuse(413, "DELETE takes no body");
  DropReport rep = gw_.drop(path.str(), forward_via());
  json j{{"path", path.str()},
         {"status", rep.status},
         {"removed", outcomes(rep.removed, false)},
         {"failed", outcomes(rep.failed, true)}};
  return send_json(rep.status, j);
}

bool Exchange::whereis(std::string_view query) {
  auto raw = query_value(query, "path");
  if (!raw) return refuse(400, "whereis needs ?path=");
  auto path = url_file_path(*raw);
  if (!path.ok()) return refuse(400, path.error().message);
  auto w = gw_.whereis(path->str());
  if (!w.ok()) return refuse(500, w.error().message);
  const auto views = gw_.nodes();
  json copies = json::array();
  for (const Copy& c : w->copies) {
    bool up = false;
    for (const NodeView& v : views) up = up || (v.name == c.node && v.up);
    copies.push_back({{"node", c.node}, {"size", c.size}, {"sha256", c.sha256}, {"up", up}});
  }
  return send_json(200, {{"path", path->str()},
                              {"copies", copies},
                              {"placement", w->placement},
                              {"wanted", gw_.options().copies}});
}

bool Exchange::list(std::string_view query) {
  std::string after;
  if (auto raw = query_value(query, "after"); raw && !raw->empty()) {
    auto decoded = url_file_path(*raw);
    if (!decoded.ok()) return refuse(400, decoded.error().message);
    after = decoded->str();
  }
  size_t limit = 1000;
  if (auto raw = query_value(query, "limit")) {
    auto n = parse_u64(*raw);
    if (!n || *n == 0 || *n > 10000) return refuse(400, "limit must be 1 to 10000");
    limit = static_cast<size_t>(*n);
  }
  auto page = gw_.log().paths(after, limit + 1);
  if (!page.ok()) return refuse(500, page.error().message);
  json paths = json::array();
  for (size_t i = 0; i < page->size() && i < limit; ++i) {
    const auto& [path, copies] = (*page)[i];
    paths.push_back({{"path", path},
                     {"size", copies.front().size},
                     {"sha256", copies.front().sha256},
                     {"copies", copies.size()}});
  }
  return send_json(200, {{"paths", paths}, {"more", page->size() > limit}});
}

bool Exchange::cluster_status() {
  json nodes = json::array();
  for (const NodeView& v : gw_.nodes()) {
    if (v.removed) continue;
    nodes.push_back({{"name", v.name},         {"url", v.url},           {"up", v.up},
                     {"draining", v.draining},
                     {"missed", v.missed},     {"error", v.last_error},  {"capacity", v.capacity},
                     {"used", v.used},         {"free", v.free},         {"size", v.size},
                     {"inflight", v.inflight},
                     {"reserved", v.reserved}, {"files", v.files},       {"cursor", v.cursor},
                     {"hops", v.hops}});
  }
  auto paths = gw_.log().path_count();
  auto copies = gw_.log().copy_count();
  const RepairStats r = gw_.repair_stats();
  json repair{{"passes", r.passes},   {"copied", r.copied},           {"copied_bytes", r.copied_bytes},
              {"trimmed", r.trimmed}, {"failed", r.failed},           {"short_paths", r.short_paths},
              {"lost_paths", r.lost_paths}};
  return send_json(200, {{"name", gw_.options().name},
                              {"copies_wanted", gw_.options().copies},
                              {"paths", paths.ok() ? *paths : 0},
                              {"copies", copies.ok() ? *copies : 0},
                              {"nodes", nodes},
                              {"rebalancing", gw_.rebalancing()},
                              {"repair", repair}});
}

bool Exchange::metrics() {
  const auto verb = parser_->get().method();
  if (verb != http::verb::get && verb != http::verb::head) return refuse(405, "GET only");
  auto paths = gw_.log().path_count();
  auto copies = gw_.log().copy_count();
  return send(200, "text/plain; version=0.0.4; charset=utf-8",
              render_gateway_metrics(gw_.metrics(), gw_.nodes(), gw_.repair_stats(),
                                     paths.ok() ? *paths : 0, copies.ok() ? *copies : 0));
}

bool Exchange::node_status() {
  // As a node of another gateway: what it can hold once every path has R copies.
  uint64_t capacity = 0, used = 0, free = 0, size = 0, inflight = 0, files = 0;
  uint32_t nearest = UINT32_MAX;
  const auto r = static_cast<uint64_t>(gw_.options().copies);
  for (const NodeView& v : gw_.nodes()) {
    if (!v.up) continue;
    capacity += v.capacity;
    used += v.used;
    free += v.free;
    size += v.capacity > 0 ? v.capacity : v.size;
    inflight += v.inflight;
    files += v.files;
    nearest = std::min(nearest, v.hops);
  }
  return send_json(200, {{"name", gw_.options().name},
                              {"capacity", capacity / r},
                              {"used", used / r},
                              {"free", free / r},
                              {"size", size / r},
                              {"inflight_bytes", inflight / r},
                              {"files", files / r},
                              {"hops", nearest == UINT32_MAX ? 1u
                                       : std::min<uint32_t>(nearest + 1, kMaxHops)}});
}

}  // namespace depot::cluster
