#include "serve/request_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/rel_path.h"
#include "core/text.h"

namespace depot {
namespace {

constexpr size_t kMaxComponent = 255;
constexpr size_t kMaxPath = 4096;

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

Error unsafe(std::string_view target, const char* why) {
  return make_error(ErrorCode::kUnsafePath,
                    std::string("request target ") + quote_untrusted(target) + ": " + why);
}

}  // namespace

Result<RequestPath> parse_request_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return unsafe(target, "not in origin form");
  }
  for (char c : target) {
    if (is_control(static_cast<unsigned char>(c))) return unsafe(target, "control byte");
    if (c == '#') return unsafe(target, "fragment");
  }
  RequestPath out;
  std::string_view raw = target;
  if (size_t q = raw.find('?'); q != std::string_view::npos) {
    out.query = std::string(raw.substr(q + 1));
    raw = raw.substr(0, q);
  }
  out.trailing_slash = raw.back() == '/';

  bool hidden = false;
  std::string component;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view piece = raw.substr(pos, end - pos);
    pos = end + 1;
    if (piece.empty()) continue;  // merged slashes

    component.clear();
    for (size_t i = 0; i < piece.size(); ++i) {
      char c = piece[i];
      if (c == '\\') return unsafe(target, "backslash");
      if (c != '%') {
        component.push_back(c);
        continue;
      }
      if (i + 2 >= piece.size()) return unsafe(target, "truncated %-escape");
      int hi = hex_digit_value(piece[i + 1]);
      int lo = hex_digit_value(piece[i + 2]);
      if (hi < 0 || lo < 0) return unsafe(target, "bad %-escape");
      auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (decoded == 0 || decoded == '/' || decoded == '\\' || is_control(decoded)) {
        return unsafe(target, "forbidden byte in %-escape");
      }
      component.push_back(static_cast<char>(decoded));
      i += 2;
    }
    if (component == "." || component == "..") return unsafe(target, "dot component");
    if (component.size() > kMaxComponent) return unsafe(target, "component too long");
    if (component.starts_with(".depot")) hidden = true;
    if (!out.rel.empty()) out.rel.push_back('/');
    out.rel += component;
    if (out.rel.size() > kMaxPath) return unsafe(target, "path too long");
  }
  if (hidden) {
    return make_error(ErrorCode::kNotFound, "request target " + quote_untrusted(target) +
                                                ": private state is never served");
  }
  return out;
}

std::string escape_path_for_url(std::string_view rel) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(rel.size());
  for (char ch : rel) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<OpenedFile> open_beneath(int root_fd, std::string_view rel) {
  std::string path = rel.empty() ? std::string(".") : std::string(rel);
  if (path.find('\0') != std::string::npos) {
    return make_error(ErrorCode::kUnsafePath, "path contains NUL: " + quote_untrusted(rel));
  }
  open_how how{};
  // O_NONBLOCK keeps a fifo from blocking the open; it has no effect on the regular files and
  // directories that are kept (and saves two fcntl calls per request).
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how));
    // EAGAIN: a concurrent rename made the kernel unsure that ".." stayed beneath; retry.
    if (fd >= 0 || (errno != EINTR && errno != EAGAIN)) break;
  }
  if (fd < 0) {
    int err = errno;
    std::string msg = quote_untrusted(rel) + ": " + std::strerror(err);
    switch (err) {
      case ENOENT:
      case ENOTDIR:
      case ENAMETOOLONG:
      case ENXIO:  // a socket, or a device without a driver
      case ENODEV:
        return make_error(ErrorCode::kNotFound, msg);
      case EXDEV:
      case ELOOP:
        return make_error(ErrorCode::kUnsafePath, msg);
      default:
        return make_error(ErrorCode::kIo, msg);
    }
  }
  OpenedFile out;
  out.fd.reset(static_cast<int>(fd));
  if (::fstat(out.fd.get(), &out.st) != 0) {
    return make_error(ErrorCode::kIo, quote_untrusted(rel) + ": fstat: " + std::strerror(errno));
  }
  if (!S_ISREG(out.st.st_mode) && !S_ISDIR(out.st.st_mode)) {
    return make_error(ErrorCode::kNotFound, quote_untrusted(rel) + ": not a regular file");
  }
  return out;
}

}  // namespace depot
