#include "serve/node_api.h"

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "serve/http_semantics.h"
#include "serve/request_path.h"

namespace depot {
namespace {

constexpr std::string_view kApiPrefix = "/_depot/";
constexpr std::string_view kFilesPrefix = "/_depot/v1/files/";
constexpr size_t kDefaultLimit = 1000;
constexpr size_t kMaxLimit = 10000;

NodeReply text_reply(int status, std::string text) {
  NodeReply r;
  r.status = status;
  r.body = std::move(text) + "\n";
  return r;
}

NodeReply json_reply(int status, const nlohmann::ordered_json& j) {
  NodeReply r;
  r.status = status;
  r.content_type = "application/json";
  // Paths are bytes; one that is not UTF-8 is shown with U+FFFD rather than failing the answer.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

Error bad_path(std::string_view target, const char* why) {
  return make_error(ErrorCode::kUnsafePath, "file path of " + quote_untrusted(target) + ": " + why);
}

// The checks of url_file_path on `raw`; errors quote `target` (the path as the client wrote it).
Result<RelPath> checked_file_path(std::string_view raw, std::string_view target) {
  if (raw.empty()) return bad_path(target, "empty");
  if (raw.front() == '/') return bad_path(target, "absolute");
  if (raw.back() == '/') return bad_path(target, "names a directory");
  if (raw.find("//") != std::string_view::npos) return bad_path(target, "empty component");
  if (raw.find('?') != std::string_view::npos) {
    return bad_path(target, "a query (escape '?' in a name as %3F)");
  }
  auto parsed = parse_request_target("/" + std::string(raw));
  if (!parsed.ok()) {
    if (parsed.error().code == ErrorCode::kNotFound) {
      return bad_path(target, ".depot* names are private state");
    }
    return make_error(ErrorCode::kUnsafePath, parsed.error().message);
  }
  std::string_view rel = parsed->rel;
  if (rel.substr(0, rel.find('/')) == "_depot") return bad_path(target, "_depot/ is the API's");
  auto path = RelPath::parse(rel);
  if (!path.ok()) return make_error(ErrorCode::kUnsafePath, path.error().message);
  return path;
}

}  // namespace

Result<RelPath> node_file_path(std::string_view target) {
  return checked_file_path(target.substr(kFilesPrefix.size()), target);
}

Result<RelPath> url_file_path(std::string_view raw) { return checked_file_path(raw, raw); }

NodeApi::NodeApi(NodeStore& store, std::string name, const AuthTable* auth, Logger& logger)
    : store_(store), name_(std::move(name)), auth_(auth), log_(logger) {}

bool NodeApi::handles(std::string_view target) { return target.starts_with(kApiPrefix); }

bool NodeApi::is_upload(std::string_view method, std::string_view target) {
  return method == "PUT" && target.starts_with(kFilesPrefix);
}

std::optional<NodeReply> NodeApi::authorize(const NodeRequest& request, Role need) const {
  if (auth_ == nullptr) {
    if (need <= Role::kRead) return std::nullopt;
    return text_reply(403, "node " + name_ + " was started without --auth-file: its API is "
                                             "read-only");
  }
  auto refuse = [&](const std::string& why, bool invalid) {
    NodeReply r = text_reply(401, why);
    r.headers.emplace_back("WWW-Authenticate", invalid ? "Bearer realm=\"depot\", "
                                                         "error=\"invalid_token\""
                                                       : "Bearer realm=\"depot\"");
    return r;
  };
  if (request.authorization.empty()) {
    return refuse("node " + name_ + " needs a token: Authorization: Bearer TOKEN", false);
  }
  auto token = bearer_token(request.authorization);
  if (!token) return refuse("Authorization must be: Bearer TOKEN", true);
  auto client = auth_->find(*token);
  if (!client) return refuse("node " + name_ + " does not know this token", true);
  if (client->role < need) {
    return text_reply(403, std::string(request.method) + " needs a " + role_name(need) +
                               " token on node " + name_ + "; " + client->name + " has " +
                               role_name(client->role));
  }
  return std::nullopt;
}

NodeReply NodeApi::handle(const NodeRequest& request) {
  std::string_view target = request.target;
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (target.starts_with(kFilesPrefix)) {
    const bool known = request.method == "DELETE" || request.method == "HEAD";
    if (!known) {
      NodeReply r = text_reply(405, "the node API takes PUT, DELETE and HEAD of files; GET "
                                    "the file at its own path");
      r.headers.emplace_back("Allow", "PUT, DELETE, HEAD");
      return r;
    }
    if (auto no = authorize(request, request.method == "HEAD" ? Role::kRead : Role::kFull)) {
      return std::move(*no);
    }
    auto path = node_file_path(target);
    if (!path.ok()) return text_reply(400, path.error().message);
    return file_request(request, *path);
  }
  std::string_view route = target.substr(0, target.find('?'));
  if (route != "/_depot/v1/inventory" && route != "/_depot/v1/status") {
    return text_reply(404, "no such node API: " + quote_untrusted(route));
  }
  if (!read) {
    NodeReply r = text_reply(405, std::string(route) + " takes GET and HEAD");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (auto no = authorize(request, Role::kRead)) return std::move(*no);
  if (route == "/_depot/v1/status") return status();
  size_t q = target.find('?');
  return inventory(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
}

NodeReply NodeApi::file_request(const NodeRequest& request, const RelPath& path) {
  if (request.method == "DELETE") {
    auto seq = store_.remove(path);
    if (!seq.ok()) return from_error(seq.error(), "DELETE " + path.str());
    nlohmann::ordered_json j{{"node", name_}, {"path", path.str()}, {"seq", *seq}};
    return json_reply(200, j);
  }
  auto found = store_.lookup(path);
  if (!found.ok()) return from_error(found.error(), "HEAD " + path.str());
  if (!*found) return text_reply(404, path.str() + ": not on node " + name_);
  NodeReply r;
  r.content_type = std::string(content_type_for(path.filename()));
  r.content_length = (*found)->size;
  r.headers.emplace_back("X-Depot-Sha256", (*found)->sha256);
  r.headers.emplace_back("X-Depot-Seq", std::to_string((*found)->seq));
  return r;
}

NodeReply NodeApi::inventory(std::string_view query) {
  int64_t since = 0;
  size_t limit = kDefaultLimit;
  if (auto v = query_value(query, "since")) {
    auto n = parse_u64(*v);
    if (!n || *n > static_cast<uint64_t>(INT64_MAX)) {
      return text_reply(400, "since must be a sequence number (0 or more), not " +
                                 quote_untrusted(*v));
    }
    since = static_cast<int64_t>(*n);
  }
  if (auto v = query_value(query, "limit")) {
    auto n = parse_u64(*v);
    if (!n || *n == 0 || *n > kMaxLimit) {
      return text_reply(400, "limit must be 1 to " + std::to_string(kMaxLimit) + ", not " +
                                 quote_untrusted(*v));
    }
    limit = static_cast<size_t>(*n);
  }
  auto page = store_.changes(since, limit);
  if (!page.ok()) return from_error(page.error(), "inventory");
  nlohmann::ordered_json changes = nlohmann::ordered_json::array();
  for (const NodeChange& c : page->changes) {
    nlohmann::ordered_json j{{"seq", c.seq}, {"op", c.deleted ? "delete" : "put"},
                             {"path", c.path}};
    if (!c.deleted) {
      j["size"] = c.size;
      j["sha256"] = c.sha256;
    }
    changes.push_back(std::move(j));
  }
  nlohmann::ordered_json j{{"node", name_}, {"changes", std::move(changes)},
                           {"last", page->last}, {"more", page->more}};
  return json_reply(200, j);
}

NodeReply NodeApi::status() {
  auto s = store_.status();
  if (!s.ok()) return from_error(s.error(), "status");
  nlohmann::ordered_json j{{"name", s->name},     {"capacity", s->capacity},
                           {"used", s->used},     {"free", s->free},
                           {"size", s->size},
                           {"inflight_bytes", s->inflight}, {"files", s->files},
                           {"hops", s->hops}};
  return json_reply(200, j);
}

NodeApi::PutStart NodeApi::begin_put(const NodeRequest& request) {
  PutStart out;
  if (auto no = authorize(request, Role::kFull)) {
    out.reply = std::move(*no);
    return out;
  }
  auto path = node_file_path(request.target);
  if (!path.ok()) {
    out.reply = text_reply(400, path.error().message);
  } else if (!request.content_length) {
    out.reply = text_reply(411, "PUT " + path->str() + " needs a Content-Length (a chunked "
                                                       "body cannot be reserved for)");
  } else if (request.sha256.empty()) {
    out.reply = text_reply(400, "PUT " + path->str() + " needs X-Depot-Sha256: the sha256 of "
                                                       "the body in hex");
  } else {
    auto up = store_.begin_put(*path, *request.content_length, request.sha256);
    if (up.ok()) {
      out.upload = std::move(*up);
    } else {
      out.reply = from_error(up.error(), "PUT " + path->str());
    }
  }
  return out;
}

NodeReply NodeApi::finish_put(std::unique_ptr<NodeUpload> upload) {
  const std::string what = "PUT " + upload->path().str();
  auto file = store_.commit(std::move(upload));
  if (!file.ok()) return from_error(file.error(), what);
  nlohmann::ordered_json j{{"node", name_},          {"path", file->path},
                           {"size", file->size},     {"sha256", file->sha256},
                           {"seq", file->seq}};
  NodeReply r = json_reply(201, j);
  r.headers.emplace_back("X-Depot-Sha256", file->sha256);
  return r;
}

NodeReply NodeApi::upload_failed(const Error& error) { return from_error(error, "PUT body"); }

NodeReply NodeApi::from_error(const Error& e, std::string_view what) {
  switch (e.code) {
    case ErrorCode::kRefused: return text_reply(507, e.message);
    case ErrorCode::kDigestMismatch: return text_reply(409, e.message);
    case ErrorCode::kUnsafePath: return text_reply(409, e.message);
    case ErrorCode::kSizeMismatch:
    case ErrorCode::kInvalidArgument: return text_reply(400, e.message);
    case ErrorCode::kNotFound: return text_reply(404, e.message);
    default: break;
  }
  log_.warn("node_api_failed", {{"node", name_}, {"request", what}, {"error", e.message}});
  return text_reply(500, "node " + name_ + ": " + std::string(what) + " failed: " + e.message);
}

}  // namespace depot
