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

}  // namespace depot
