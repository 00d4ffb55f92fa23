#include "cluster/gateway_exchange.h"

#include <limits>

#include "core/text.h"
#include "serve/http_semantics.h"
#include "serve/node_api.h"

namespace depot::cluster {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint32_t kHeaderLimit = 16 * 1024;

const char* reason(int status) {
  return http::obsolete_reason(static_cast<http::status>(status)).data();
}

}  // namespace

void Exchange::run() {
  while (keep_alive_) {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    beast::error_code ec;
    http::read_header(sock_, buf_, *parser_, ec);
    if (ec) return;  // closed, timed out, or a header too large or malformed
    keep_alive_ = parser_->get().keep_alive();
    status_ = 0;
    const bool go_on = handle();
    if (status_ >= 100 && status_ < 600) gw_.metrics().requests_by_class[status_ / 100]++;
    if (!go_on) return;
  }
}

std::string_view Exchange::header(http::field f) const {
  auto it = parser_->get().find(f);
  if (it == parser_->get().end()) return {};
  return {it->value().data(), it->value().size()};
}

std::string_view Exchange::header(std::string_view name) const {
  auto it = parser_->get().find(beast::string_view(name.data(), name.size()));
  if (it == parser_->get().end()) return {};
  return {it->value().data(), it->value().size()};
}

bool Exchange::write_all(std::string_view bytes) {
  beast::error_code ec;
  boost::asio::write(sock_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

bool Exchange::send(int status, std::string_view content_type, std::string body,
                    Headers extra) {
  status_ = status;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  head += "Server: depot-gateway\r\nContent-Type: " + std::string(content_type) + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : extra) head += k + ": " + v + "\r\n";
  if (!keep_alive_) head += "Connection: close\r\n";
  head += "\r\n";
  if (!head_only_) {
    gw_.metrics().bytes_sent += body.size();
    head += body;
  }
  return write_all(head) && keep_alive_;
}

void Exchange::discard_body() {
  if (parser_->is_done()) return;
  constexpr uint64_t kDiscardLimit = 16 << 20;
  auto length = parser_->content_length();
  if (iequals(header(http::field::expect), "100-continue") || !length ||
      *length > kDiscardLimit) {
    keep_alive_ = false;
    return;
  }
  std::string sink(64 * 1024, '\0');
  while (read_body(sink.data(), sink.size()) > 0) {
  }
  if (!parser_->is_done()) keep_alive_ = false;
}

bool Exchange::refuse(int status, std::string text, Headers extra) {
  discard_body();
  return send(status, "text/plain; charset=utf-8", std::move(text) + "\n", std::move(extra));
}

std::optional<std::string> Exchange::loop_error() const {
  std::string_view via = header("X-Depot-Via");
  size_t hops = 0;
  for (std::string_view rest = via; !trim(rest).empty();) {
    size_t comma = rest.find(',');
    std::string_view name = trim(rest.substr(0, comma));
    if (!name.empty()) hops++;
    if (name == gw_.options().name) {
      return "loop: the request already passed gateway " + gw_.options().name + " (" +
             std::string(via) + ")";
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (hops >= kMaxHops) {
    return "too many gateways: " + std::to_string(hops) + " passed (" + std::string(via) + ")";
  }
  return std::nullopt;
}

std::string Exchange::forward_via() const {
  std::string via(trim(header("X-Depot-Via")));
  return via.empty() ? gw_.options().name : via + ", " + gw_.options().name;
}

std::optional<Role> Exchange::role() {
  std::string_view auth = header(http::field::authorization);
  if (trim(auth).empty()) return Role::kNone;
  auto token = bearer_token(auth);
  std::optional<AuthTable::Client> client;
  if (token && opts_.auth) client = opts_.auth->find(*token);
  if (!client) {
    refuse(401, "unknown token", {{"WWW-Authenticate", "Bearer"}});
    return std::nullopt;
  }
  return client->role;
}

bool Exchange::handle() {
  const auto& req = parser_->get();
  head_only_ = req.method() == http::verb::head;
  RequestFraming framing;
  framing.version = req.version();
  framing.host_fields = static_cast<size_t>(std::distance(req.equal_range(http::field::host).first,
                                                          req.equal_range(http::field::host).second));
  framing.transfer_encoding = header(http::field::transfer_encoding);
  framing.has_transfer_encoding = req.find(http::field::transfer_encoding) != req.end();
  framing.has_content_length = req.find(http::field::content_length) != req.end();
  if (auto bad = framing_error(framing)) {
    keep_alive_ = false;
    return refuse(400, *bad);
  }
  if (auto loop = loop_error()) {
    gw_.metrics().loops_refused++;
    return refuse(508, *loop);
  }
  const std::string_view target(req.target().data(), req.target().size());
  if (target.starts_with("/_depot/")) return route_api(target);
  if (target == "/metrics") return metrics();
  std::string plain(target.substr(0, target.find('?')));
  // A directory URL names its index.html (as static mirrors lay out PyPI's simple pages).
  const auto verb = req.method();
  if (plain.ends_with('/') && (verb == http::verb::get || verb == http::verb::head)) {
    plain += "index.html";
  }
  auto path = url_file_path(std::string_view(plain).substr(1));
  if (!path.ok()) return refuse(400, path.error().message);
  return route_file(*path);
}

}  // namespace depot::cluster
