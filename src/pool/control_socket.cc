#include "pool/control_socket.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace depot::pool {
namespace {

namespace fs = std::filesystem;

Error io_error(const fs::path& path, const std::string& what, int err) {
  return make_error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(err));
}

// Removes the private directory and what is left in it when it goes out of scope.
struct PrivateDir {
  fs::path dir, file;
  ~PrivateDir() {
    if (!file.empty()) ::unlink(file.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

// Moves `from` to `to` unless `to` exists.
int move_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

}  // namespace

Result<ListeningSocket> listen_unix_in_place(const fs::path& path, unsigned mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    return make_error(ErrorCode::kInvalidArgument,
                      path.string() + ": too long for a unix socket path");
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (parent / ".depot-sock-XXXXXX").string();
  PrivateDir priv;
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return io_error(path, "cannot make a private directory beside it", errno);
  }
  priv.dir = tmpl;
  const fs::path tmp = priv.dir / "s";
  if (tmp.native().size() >= sizeof addr.sun_path) {
    return make_error(ErrorCode::kInvalidArgument,
                      path.string() + ": too long for a unix socket path (its temporary name " +
                          tmp.string() + " does not fit)");
  }
  std::memcpy(addr.sun_path, tmp.c_str(), tmp.native().size() + 1);

  ListeningSocket out;
  out.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!out.fd.valid()) return io_error(path, "socket", errno);
  if (::bind(out.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return io_error(path, "bind", errno);
  }
  priv.file = tmp;
  struct stat st {};
  if (::chmod(tmp.c_str(), mode) != 0 || ::stat(tmp.c_str(), &st) != 0) {
    return io_error(path, "chmod", errno);
  }
  if (::listen(out.fd.get(), SOMAXCONN) != 0) return io_error(path, "listen", errno);
  if (int err = move_no_replace(tmp, path); err != 0) {
    if (err == EEXIST) {
      return make_error(ErrorCode::kRefused,
                        path.string() + " appeared while this daemon started; not replacing it");
    }
    return io_error(path, "cannot move the socket into place", err);
  }
  priv.file.clear();
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  return out;
}

bool is_same_file(const fs::path& path, dev_t dev, ino_t ino) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace depot::pool
