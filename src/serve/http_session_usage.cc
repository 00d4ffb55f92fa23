// Session's side of usage reports (see http_session_impl.h): POST /_depot/v1/usage carries a
// client's list of installed packages, {"prefix": "debian", "packages": ["hello", ...]}, for
// usage-driven prefetch. Accepted only from ServerOptions::usage_from; the body is read whole,
// at most kUsageBodyLimit bytes.

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "serve/cidr.h"
#include "serve/http_session_impl.h"

namespace depot::session_detail {

bool Session::is_usage_report() const {
  const auto& req = parser_->get();
  return req.method() == http::verb::post &&
         std::string_view(req.target().data(), req.target().size()) == kUsagePath;
}

void Session::start_usage_report() {
  begin_request();
  note_request();
  if (auto bad = framing_error(framing_of(parser_->get()))) {
    keep_alive_ = false;
    return send_error(400, *bad);
  }
  if (!any_cidr_contains(srv_.opts.usage_from, remote_)) {
    keep_alive_ = false;
    return send_error(403, "usage reports are not accepted from " + remote_ +
                               " (see --usage-from)");
  }
  auto length = parser_->content_length();
  if (length && *length > kUsageBodyLimit) {
    keep_alive_ = false;
    return send_error(413, "a usage report is at most " + std::to_string(kUsageBodyLimit) +
                               " bytes");
  }
  usage_parser_.emplace(std::move(*parser_));
  usage_parser_->body_limit(kUsageBodyLimit);
  arm_read();
  http::async_read(sock_, buf_, *usage_parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->on_usage_report(ec);
                   });
}

namespace {

// The report's scope and names, or the reason it is refused.
std::string read_report(const std::string& body, std::string& prefix,
                        std::vector<std::string>& names) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "expected a JSON object";
  auto p = j.find("prefix");
  auto pk = j.find("packages");
  if (p == j.end() || !p->is_string()) return "\"prefix\" must be a string";
  if (pk == j.end() || !pk->is_array()) return "\"packages\" must be an array of names";
  prefix = std::string(trim(p->get<std::string>(), "/"));
  for (const auto& n : *pk) {
    if (!n.is_string()) return "\"packages\" must be an array of names";
    names.push_back(n.get<std::string>());
  }
  return {};
}

}  // namespace

void Session::on_usage_report(beast::error_code ec) {
  if (ec) {
    usage_parser_.reset();
    keep_alive_ = false;
    if (ec == http::error::body_limit) return send_error(413, "usage report too large");
    return close();  // the client left or broke off its body
  }
  std::string body = std::move(usage_parser_->get().body());
  usage_parser_.reset();
  std::string prefix;
  std::vector<std::string> names;
  if (std::string why = read_report(body, prefix, names); !why.empty()) {
    return send_error(400, "usage report: " + why);
  }
  Status st = srv_.service.record_usage(prefix, names);
  if (!st.ok()) {
    return send_error(st.error().code == ErrorCode::kNotFound ? 404 : 409,
                      "usage report: " + st.error().message);
  }
  small_ = {};
  base_headers(small_.base(), 200);
  small_.set(http::field::content_type, "application/json");
  small_.body() = nlohmann::json{{"prefix", prefix}, {"recorded", names.size()}}.dump() + "\n";
  small_.content_length(small_.body().size());
  write_small();
}

}  // namespace depot::session_detail
