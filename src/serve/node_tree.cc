#include "serve/node_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/digest.h"
#include "core/rel_path.h"

namespace depot {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Error io_error(const std::string& what, int err) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(err));
}

// Opens the component rel[start, end) beneath `parent`.
Result<UniqueFd> open_component(int parent, const std::string& rel, size_t start, size_t end,
                                bool create) {
  const std::string comp = rel.substr(start, end - start);
  int fd = ::openat(parent, comp.c_str(), kDirFlags);
  if (fd < 0 && errno == ENOENT && create) {
    if (::mkdirat(parent, comp.c_str(), 0755) != 0 && errno != EEXIST) {
      return io_error("creating directory " + quote_untrusted(rel.substr(0, end)), errno);
    }
    fd = ::openat(parent, comp.c_str(), kDirFlags);
  }
  if (fd >= 0) return UniqueFd(fd);
  if (errno == ENOENT) {
    return make_error(ErrorCode::kNotFound, quote_untrusted(rel.substr(0, end)) + ": missing");
  }
  if (errno == ENOTDIR || errno == ELOOP) {
    return make_error(ErrorCode::kUnsafePath, quote_untrusted(rel.substr(0, end)) +
                                                  ": not a directory (a file or symlink is "
                                                  "in the way)");
  }
  return io_error("opening directory " + quote_untrusted(rel.substr(0, end)), errno);
}

Status walk_dir(int dir_fd, const std::string& rel,
                const std::function<bool(std::string_view, bool)>& keep, const TreeVisitor& fn,
                uint64_t* skipped) {
  int dup_fd = ::dup(dir_fd);
  if (dup_fd < 0) return io_error("listing " + quote_untrusted(rel), errno);
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    ::close(dup_fd);
    return io_error("listing " + quote_untrusted(rel), errno);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  std::vector<std::string> subdirs;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = rel_join(rel, name);
    struct stat st {};
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while we looked
      return io_error("stat " + quote_untrusted(child), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      if (keep(child, true)) subdirs.push_back(std::string(name));
    } else if (!S_ISREG(st.st_mode) || !keep(child, false)) {
      ++*skipped;
    } else {
      DEPOT_TRY(fn(child, dir_fd, e->d_name, st));
    }
  }
  for (const std::string& name : subdirs) {
    int fd = ::openat(dir_fd, name.c_str(), kDirFlags);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // changed meanwhile
      return io_error("opening directory " + quote_untrusted(rel_join(rel, name)), errno);
    }
    UniqueFd sub(fd);
    DEPOT_TRY(walk_dir(sub.get(), rel_join(rel, name), keep, fn, skipped));
  }
  return ok_status();
}

}  // namespace

Result<UniqueFd> open_dir_beneath(int root_fd, std::string_view rel_view, bool create) {
  const std::string rel(rel_view);
  int fd = ::dup(root_fd);
  if (fd < 0) return io_error("dup", errno);
  UniqueFd cur(fd);
  for (size_t start = 0; start < rel.size();) {
    size_t end = std::min(rel.find('/', start), rel.size());
    DEPOT_ASSIGN_OR_RETURN(cur, open_component(cur.get(), rel, start, end, create));
    start = end + 1;
  }
  return cur;
}

void prune_empty_dirs(int root_fd, std::string_view rel_dir) {
  std::string dir(rel_dir);
  while (!dir.empty()) {
    std::string parent(rel_parent(dir));
    auto pfd = open_dir_beneath(root_fd, parent, /*create=*/false);
    if (!pfd.ok()) return;
    std::string name(rel_filename(dir));
    if (::unlinkat(pfd->get(), name.c_str(), AT_REMOVEDIR) != 0) return;
    dir = parent;
  }
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

Status walk_tree(int root_fd, const std::function<bool(std::string_view, bool)>& keep,
                 const TreeVisitor& fn, uint64_t* skipped) {
  uint64_t ignored = 0;
  return walk_dir(root_fd, "", keep, fn, skipped != nullptr ? skipped : &ignored);
}

Result<std::string> sha256_of_fd(int fd, std::string_view what, uint64_t* bytes) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("reading " + std::string(what), errno);
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    off += n;
    total += static_cast<uint64_t>(n);
  }
  if (bytes != nullptr) *bytes = total;
  return h.finish().sha256;
}

}  // namespace depot
