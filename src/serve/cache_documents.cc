// Documents through the cache (PathRules::is_document, rewrite_document, cache_route,
// blob_origin): stored as upstream sent them, rewritten in every answer for the URL the client
// reached the server at and the form its Accept asks for; the blobs they place elsewhere fetched
// from there and verified. Members of CacheService.

#include <unistd.h>

#include "core/rel_path.h"
#include "serve/cache_fetch.h"
#include "serve/request_path.h"

namespace depot {
namespace {

constexpr uint64_t kMaxDocument = 64ull << 20;  // npm's largest packuments pass 30 MB
constexpr uint64_t kMaxNamingIndex = 64ull << 20;

std::string_view below_prefix(std::string_view key, const UpstreamConfig& u) {
  if (u.prefix.empty()) return key;
  return key.size() > u.prefix.size() ? key.substr(u.prefix.size() + 1) : std::string_view();
}

// Whether registry `r`'s documents and blob origins apply below upstream `u`.
bool applies(const RegistryDescriptor& r, const UpstreamConfig& u) {
  if (u.proxied) return false;
  return u.registry.empty() ? !r.paths.cache_route : r.name == u.registry;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']';
}

// The base URL clients reached this server at: --public-url, else http:// and the Host
// header when it is a plain host[:port]; "" otherwise.
std::string public_base(const ServiceOptions& o, std::string_view host) {
  std::string base = o.public_url;
  if (base.empty()) {
    if (host.empty() || host.size() > 255) return "";
    for (char c : host) {
      if (!host_char(c)) return "";
    }
    base = "http://" + std::string(host);
  }
  while (base.ends_with('/')) base.pop_back();
  return base;
}

// The bytes of a whole-file answer; nullopt for other answers or a read failure.
std::optional<std::string> answer_bytes(const Answer& a) {
  if (a.kind != Answer::Kind::kFile || !a.body || a.body->fd.get() < 0) return std::nullopt;
  if (a.size > kMaxDocument) return std::nullopt;
  std::string body(a.size, '\0');
  if (::pread(a.body->fd.get(), body.data(), body.size(), 0) != static_cast<ssize_t>(a.size)) {
    return std::nullopt;
  }
  return body;
}

}  // namespace

size_t CacheService::upstream_of(std::string_view rel) const {
  size_t up = opts_.upstreams.size();
  for (size_t i = 0; i < opts_.upstreams.size(); ++i) {
    const std::string& p = opts_.upstreams[i].prefix;
    bool under = p.empty() || rel == p ||
                 (rel.starts_with(p) && rel.size() > p.size() && rel[p.size()] == '/');
    if (under && (up == opts_.upstreams.size() || p.size() > opts_.upstreams[up].prefix.size())) {
      up = i;
    }
  }
  return up;
}

const RegistryDescriptor* CacheService::document_rules(std::string_view key, size_t up) const {
  std::string_view rel = below_prefix(key, opts_.upstreams[up]);
  if (rel.empty()) return nullptr;
  for (const RegistryDescriptor* r : registries()) {
    if (!applies(*r, opts_.upstreams[up])) continue;
    if (r->paths.is_document && r->paths.rewrite_document && r->paths.is_document(rel)) return r;
  }
  return nullptr;
}

std::optional<Answer> CacheService::resolve_registry(const ServeRequest& request, size_t up,
                                                     const Later& later,
                                                     std::shared_ptr<PendingAnswer>* pending,
                                                     bool* handled) {
  const UpstreamConfig& u = opts_.upstreams[up];
  const RegistryDescriptor* bound = u.registry.empty() ? nullptr : find_registry(u.registry);
  if (bound && bound->paths.cache_route) {
    std::string_view rel = below_prefix(request.rel, u);
    auto route = bound->paths.cache_route(rel);
    if (request.trailing_slash || rel.empty() || !route.ok()) {
      *handled = true;
      return error_answer(404, "not found");
    }
    if (*route) {
      *handled = true;
      return resolve_document(request, up, *bound, later, pending, &**route);
    }
    return std::nullopt;
  }
  const RegistryDescriptor* rules =
      request.trailing_slash ? nullptr : document_rules(request.rel, up);
  if (!rules) return std::nullopt;
  *handled = true;
  return resolve_document(request, up, *rules, later, pending, nullptr);
}

std::optional<Answer> CacheService::resolve_document(const ServeRequest& request, size_t up,
                                                     const RegistryDescriptor& rules,
                                                     const Later& later,
                                                     std::shared_ptr<PendingAnswer>* pending,
                                                     const CacheRoute* route) {
  const UpstreamConfig& u = opts_.upstreams[up];
  std::string local_url = public_base(opts_, request.host);
  if (local_url.empty()) {
    return error_answer(400, "no usable Host header to name this server by (or set --public-url)");
  }
  if (!u.prefix.empty()) local_url += "/" + escape_path_for_url(u.prefix);
  std::string key = route ? rel_join(u.prefix, route->file) : request.rel;
  std::string accept = request.accept;
  auto rewrite = [this, &rules, &u, key, local_url, accept](Answer a) -> Answer {
    if (a.kind == Answer::Kind::kError || a.kind == Answer::Kind::kRedirect) return a;
    std::optional<std::string> body = answer_bytes(a);
    if (!body) return error_answer(502, "the document could not be read for rewriting");
    auto doc = rules.paths.rewrite_document(below_prefix(key, u), *body, local_url, accept);
    if (!doc.ok()) {
      log_.warn("document_rewrite_failed", {{"path", key}, {"error", doc.error().message}});
      return a;  // served as upstream sent it
    }
    Answer out;
    out.kind = Answer::Kind::kText;
    out.outcome = a.outcome;
    out.stale = a.stale;
    out.content_type = !doc->content_type.empty() ? doc->content_type
                       : a.content_type.empty()   ? "application/json"
                                                  : a.content_type;
    out.text = std::move(doc->body);
    out.interest = std::move(a.interest);
    return out;
  };
  auto a = resolve_cached(
      request, [later, rewrite](Answer a) { later(rewrite(std::move(a))); }, pending, route);
  if (a) return rewrite(std::move(*a));
  return std::nullopt;
}

std::optional<std::string> CacheService::read_cached(const std::string& key, uint64_t max_size) {
  CacheStore::Pin pin = store_->pin(key);
  auto f = open_beneath(store_->files_dir_fd(), key);
  if (!f.ok() || !S_ISREG(f->st.st_mode)) return std::nullopt;
  auto size = static_cast<uint64_t>(f->st.st_size);
  if (size > max_size) return std::nullopt;
  std::string body(size, '\0');
  if (::pread(f->fd.get(), body.data(), body.size(), 0) != static_cast<ssize_t>(size)) {
    return std::nullopt;
  }
  return body;
}

std::optional<BlobOrigin> CacheService::blob_origin(const std::string& key, size_t up) {
  const UpstreamConfig& u = opts_.upstreams[up];
  std::string_view rel = below_prefix(key, u);
  if (rel.empty()) return std::nullopt;
  ReadCachedFn read = [this, &u](std::string_view r) {
    return read_cached(u.prefix.empty() ? std::string(r) : u.prefix + "/" + std::string(r),
                       kMaxNamingIndex);
  };
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.blob_origin || !applies(*r, u)) continue;
    if (auto origin = r->paths.blob_origin(rel, read)) return origin;
  }
  return std::nullopt;
}

}  // namespace depot
