#pragma once
// Private to gateway_server.cc and gateway_exchange*.cc: the requests of one connection, read
// and answered in order on the connection's own thread (blocking socket with timeouts).
// Includes Boost; only those .cc files may include it.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Asio 1.74 needs <utility> before it (std::exchange).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "cluster/gateway_server.h"
#include "core/rel_path.h"

namespace depot::cluster {

// Gateways a request may pass (X-Depot-Via); also the most hops a gateway reports as a node.
inline constexpr size_t kMaxHops = 8;

class Exchange {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Exchange(Socket& sock, Gateway& gw, const GatewayServerOptions& opts, Logger& log)
      : sock_(sock), gw_(gw), opts_(opts), log_(log) {}

  // Serves requests until the client closes, a timeout, or an answer that closes.
  void run();

 private:
  // One request whose header is in parser_. False: close the connection.
  bool handle();
  // A refusal before the body: answers, first reading and dropping a body up to 16 MiB that
  // the client sends without waiting for 100 Continue (so it sees the answer, not a broken
  // pipe); a larger one, or one the client waits to send, is never read and the connection
  // closes after the answer.
  bool refuse(int status, std::string text, Headers extra = {});
  bool send(int status, std::string_view content_type, std::string body, Headers extra = {});
  // Compact JSON and a newline; bytes that are not UTF-8 are replaced.
  bool send_json(int status, const nlohmann::ordered_json& j) {
    return send(status, "application/json",
                j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }
  bool write_all(std::string_view bytes);
  std::string_view header(boost::beast::http::field f) const;
  std::string_view header(std::string_view name) const;
  // nullopt when the request may go on; else the 508 for a loop or a chain too long.
  std::optional<std::string> loop_error() const;
  // The X-Depot-Via to send on: the request's, then this gateway's name.
  std::string forward_via() const;
  // The caller's role: kNone without a token; nullopt (after answering 401) for an unknown one.
  std::optional<Role> role();

  // gateway_exchange_routes.cc
  bool route_api(std::string_view target);
  bool route_file(const RelPath& path);
  bool get_file(const RelPath& path);
  bool put_file(const RelPath& path, Role role);
  bool delete_file(const RelPath& path, Role role);
  bool whereis(std::string_view query);
  bool cluster_status();
  // gateway_admin.cc: POST/DELETE under /_depot/v1/cluster/ (full role).
  bool route_admin(std::string_view route, std::string_view query);
  bool admin_nodes();
  bool admin_fsck(std::string_view query);
  // The whole request body up to `limit` bytes; nullopt (after answering 413 or closing) when
  // it is longer or broke off.
  std::optional<std::string> small_body(size_t limit);
  bool list(std::string_view query);
  bool node_status();
  bool metrics();
  // Reads and drops the rest of the request body when the client sends it unasked and it is
  // small; otherwise marks the connection for closing.
  void discard_body();
  // A BodyReader over the request body in parser_.
  long read_body(char* out, size_t n);

  Socket& sock_;
  Gateway& gw_;
  const GatewayServerOptions& opts_;
  Logger& log_;
  boost::beast::flat_buffer buf_;
  std::optional<Parser> parser_;
  bool keep_alive_ = true;
  bool head_only_ = false;
  int status_ = 0;  // of the answer to the current request (for metrics)
};

}  // namespace depot::cluster
