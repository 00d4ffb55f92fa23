#include "core/html_text.h"

#include <cstdint>

namespace depot {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_unescape(std::string_view text) {
  static const std::pair<std::string_view, std::string_view> kNamed[] = {
      {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"}};
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    std::string_view rest = text.substr(i + 1);
    bool done = false;
    for (const auto& [name, value] : kNamed) {
      if (rest.starts_with(name)) {
        out += value;
        i += name.size();
        done = true;
        break;
      }
    }
    if (done) continue;
    if (rest.starts_with("#")) {
      size_t semi = rest.find(';');
      bool hex = rest.size() > 1 && (rest[1] == 'x' || rest[1] == 'X');
      std::string_view digits =
          semi == std::string_view::npos ? "" : rest.substr(hex ? 2 : 1, semi - (hex ? 2 : 1));
      if (!digits.empty() && digits.size() <= 8) {
        uint32_t cp = 0;
        bool ok = true;
        for (char c : digits) {
          int d = (c >= '0' && c <= '9')        ? c - '0'
                  : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                : -1;
          if (d < 0) {
            ok = false;
            break;
          }
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        }
        if (ok) {
          append_utf8(out, cp);
          i += semi + 1;
          continue;
        }
      }
    }
    out += '&';
  }
  return out;
}

}  // namespace depot
