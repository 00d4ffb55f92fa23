#include "transfer/http_util.h"

#include <strings.h>

#include "core/text.h"

namespace depot {

std::string host_key(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return "";
  std::string scheme = ascii_lower(url.substr(0, sep));
  std::string_view auth = url.substr(sep + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  std::string_view host = auth, port;
  if (!auth.empty() && auth[0] == '[') {
    size_t rb = auth.find(']');
    if (rb == std::string_view::npos) return "";
    host = auth.substr(0, rb + 1);
    if (rb + 1 < auth.size() && auth[rb + 1] == ':') port = auth.substr(rb + 2);
  } else if (size_t colon = auth.rfind(':'); colon != std::string_view::npos) {
    host = auth.substr(0, colon);
    port = auth.substr(colon + 1);
  }
  std::string out = scheme + "://" + ascii_lower(host) + ":";
  if (!port.empty()) return out.append(port);
  return out + (scheme == "https" ? "443" : scheme == "http" ? "80" : "");
}

bool header_is(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         strncasecmp(line.data(), name.data(), name.size()) == 0;
}

std::string_view header_value(std::string_view line, size_t name_len) {
  std::string_view v = line.substr(name_len + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() &&
         (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

namespace {

// `segment` with its valid %XX escapes decoded; a '%' not followed by two hex digits stays.
std::string decode_escapes(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    int hi = segment[i] == '%' && i + 2 < segment.size() ? hex_digit_value(segment[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit_value(segment[i + 2]) : -1;
    if (lo < 0) {
      out += segment[i];
      continue;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::string aws_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string sigv4_canonical_url(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  size_t path_at = url.find('/', sep + 3);
  if (path_at == std::string_view::npos) return std::string(url);
  size_t query_at = url.find('?', path_at);
  std::string_view path =
      url.substr(path_at, query_at == std::string_view::npos ? url.npos : query_at - path_at);
  std::string out(url.substr(0, path_at));
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    out += aws_uri_encode(decode_escapes(path.substr(start, slash - start)), /*keep_slash=*/false);
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
  if (query_at != std::string_view::npos) out.append(url.substr(query_at));
  return out;
}

bool parse_host_port(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string h(text.substr(0, colon));
  std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != p.npos) return false;
  unsigned long n = std::stoul(std::string(p));
  if (n > 65535) return false;
  host = h;
  port = static_cast<uint16_t>(n);
  return true;
}

std::string redact_credentials(std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (size_t sep; (sep = text.find("://", pos)) != std::string_view::npos;) {
    size_t host = sep + 3;
    size_t end = text.find_first_of("/?# \t\r\n\"'<>", host);
    std::string_view authority = text.substr(host, end == std::string_view::npos ? end : end - host);
    size_t at = authority.rfind('@');
    out.append(text.substr(pos, host - pos));
    if (at != std::string_view::npos) {
      out.append("***");
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    pos = host + authority.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace depot
