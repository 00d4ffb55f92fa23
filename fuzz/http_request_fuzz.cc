// Raw request bytes as `depot serve` reads them: Boost.Beast's request_parser<empty_body> with
// the server's 8 KiB header limit, fed in pieces; then, for a complete request, the target and
// the headers through serve's framing_error, parse_request_target and http_semantics.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "serve_checks.h"

namespace {

namespace http = boost::beast::http;

constexpr uint32_t kHeaderLimit = 8 * 1024;  // as src/serve/http_session.cc

std::string_view header(const http::request<http::empty_body>& req, http::field f) {
  auto it = req.find(f);
  if (it == req.end()) return {};
  return {it->value().data(), it->value().size()};
}

// Feeds `chunks` as a socket read would deliver them; true when a whole request was parsed.
bool read_request(http::request_parser<http::empty_body>& parser,
                  const std::vector<std::string_view>& chunks) {
  std::string pending;
  boost::beast::error_code ec;
  for (std::string_view chunk : chunks) {
    pending.append(chunk);
    while (!parser.is_done() && !pending.empty()) {
      ec = {};
      size_t n = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, n);
      if (ec == http::error::need_more) break;
      if (ec) return false;
      if (n == 0) break;
    }
    if (parser.is_done()) return true;
  }
  parser.put_eof(ec);
  return !ec && parser.is_done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kHeaderLimit);
  if (!read_request(parser, depot::fuzz::split_chunks(text))) return 0;
  const auto& req = parser.get();
  depot::RequestFraming framing;
  framing.version = req.version();
  framing.host_fields = req.count(http::field::host);
  framing.has_transfer_encoding = req.find(http::field::transfer_encoding) != req.end();
  framing.transfer_encoding = header(req, http::field::transfer_encoding);
  framing.has_content_length = req.find(http::field::content_length) != req.end();
  auto bad = depot::framing_error(framing);
  if (!bad) depot::fuzz::check(framing.host_fields <= 1, "two Hosts are refused");
  (void)req.keep_alive();
  (void)req.method_string();
  std::string_view target(req.target().data(), req.target().size());
  depot::fuzz::check_target(target);
  depot::fuzz::check_headers(
      {header(req, http::field::range), header(req, http::field::if_range),
       header(req, http::field::if_match), header(req, http::field::if_none_match),
       header(req, http::field::if_modified_since), header(req, http::field::if_unmodified_since),
       header(req, http::field::accept)});
  return 0;
}
