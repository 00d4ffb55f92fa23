#include "cli/incoming_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace depot {

namespace fs = std::filesystem;

Status IncomingWatcher::start() {
  std::error_code ec;
  fs::create_directories(dir_ / ".imported", ec);
  fs::create_directories(dir_ / ".failed", ec);
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || ::inotify_add_watch(fd_, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    return make_error(ErrorCode::kIo, dir_.string() + ": cannot watch the incoming directory");
  }
  if (::pipe2(wake_, O_CLOEXEC) != 0) return make_error(ErrorCode::kIo, "pipe");
  thread_ = std::thread([this] { run(); });
  return {};
}
void IncomingWatcher::stop() {
  if (thread_.joinable()) {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
  }
  for (int fd : {fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  fd_ = wake_[0] = wake_[1] = -1;
}

void IncomingWatcher::take(const fs::path& file) {
  std::string name = file.filename().string();
  if (name.starts_with(".") || !name.ends_with(".deb")) return;
  std::error_code gone;
  if (!fs::is_regular_file(file, gone)) return;  // taken already (start-up scan and a watch)
  auto id = daemon_.submit_import(repo_, {fs::absolute(file).string()});
  if (!id.ok()) return log_.error("incoming_failed", {{"file", file.string()}});
  auto job = daemon_.jobs().wait(*id, std::chrono::hours(1));
  bool ok = job.ok() && job->state == pool::JobState::kDone;
  fs::path to = dir_ / (ok ? ".imported" : ".failed") / name;
  std::error_code ec;
  fs::rename(file, to, ec);
  if (!ok) {
    std::ofstream(to.string() + ".error")
        << (job.ok() ? job->message : job.error().message) << "\n";
  }
  log_.info("incoming", {{"file", name}, {"result", ok ? "imported" : "failed"}});
}
void IncomingWatcher::run() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.is_regular_file()) take(e.path());
  }
  alignas(inotify_event) char buf[8192];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    ssize_t n = ::read(fd_, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      if (ev->len > 0) take(dir_ / ev->name);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
}

}  // namespace depot
