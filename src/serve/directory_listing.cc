#include "serve/directory_listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/html_text.h"
#include "serve/http_semantics.h"
#include "serve/request_path.h"

namespace depot {
namespace {

// Control bytes in a name become U+FFFD; the rest is escaped as HTML text.
std::string html_name(std::string_view s) {
  std::string clean;
  clean.reserve(s.size());
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      clean += "\xEF\xBF\xBD";
    } else {
      clean += c;
    }
  }
  return html_escape(clean);
}

struct Item {
  std::string name;
  bool dir = false;
  uint64_t size = 0;
  int64_t mtime = 0;
};

}  // namespace

Result<std::string> render_directory_listing(int dir_fd, std::string_view rel) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, std::string(rel) + ": " + std::strerror(errno));
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return make_error(ErrorCode::kIo, std::string(rel) + ": " + std::strerror(errno));
  }
  std::vector<Item> items;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == ".." || name.starts_with(".depot")) continue;
    struct stat st {};
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    items.push_back(Item{std::string(name), S_ISDIR(st.st_mode),
                         static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec});
  }
  ::closedir(dir);
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.dir != b.dir ? a.dir : a.name < b.name;
  });
  std::string title = "Index of /" + html_name(rel) + (rel.empty() ? "" : "/");
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
                    "</title></head>\n<body><h1>" + title + "</h1>\n<pre>\n";
  if (!rel.empty()) out += "<a href=\"../\">../</a>\n";
  for (const Item& it : items) {
    std::string shown = html_name(it.name) + (it.dir ? "/" : "");
    out += "<a href=\"" + html_escape(escape_path_for_url(it.name)) + (it.dir ? "/" : "") +
           "\">" + shown + "</a>";
    out += "  " + format_http_date(it.mtime);
    if (!it.dir) out += "  " + std::to_string(it.size);
    out += "\n";
  }
  out += "</pre></body></html>\n";
  return out;
}

}  // namespace depot
