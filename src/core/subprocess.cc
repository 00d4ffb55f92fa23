#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace depot {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

Error spawn_error(const std::string& what, const std::string& prog) {
  return make_error(ErrorCode::kInternal, prog + ": " + what + ": " + std::strerror(errno));
}

// Starts argv with stdin /dev/null, stdout and stderr the pipes' write ends, no other inherited
// descriptor, default signal handling and no blocked signal (whatever this process ignores or
// blocks), in a new process group when asked. -1 with errno set when it cannot start.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, bool own_group) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (own_group) {
    posix_spawnattr_setpgroup(&attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

// Reads the pipes into `bufs` until both end, the child exits (then what is already in the
// pipes), or a limit is hit. Returns the failure ("" when none) and sets `status` once reaped.
std::string collect(pid_t pid, int fds[2], std::string* bufs[2], const ProcessOptions& opts,
                    int& status, bool& reaped) {
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  char chunk[65536];
  // Once the child has exited: read what is there for at most kDrain, wait for nothing more.
  constexpr auto kDrain = std::chrono::milliseconds(100);
  bool draining = false;
  auto drain_end = deadline;
  while (fds[0] >= 0 || fds[1] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "timed out after " + std::to_string(opts.timeout.count()) + " ms";
    if (opts.cancel != nullptr && opts.cancel->load()) return "cancelled";
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = draining = true;
      drain_end = std::chrono::steady_clock::now() + kDrain;
    }
    if (draining && std::chrono::steady_clock::now() > drain_end) break;
    pollfd pfd[2];
    for (int i = 0; i < 2; ++i) pfd[i] = {fds[i], POLLIN, 0};
    int n = ::poll(pfd, 2, draining ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    if (n == 0 && draining) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[i], chunk, sizeof chunk);
      if (r > 0) {
        bufs[i]->append(chunk, static_cast<size_t>(r));
        if (bufs[i]->size() > opts.max_output) return "output exceeds the limit";
      } else if (r == 0 || errno != EINTR) {
        fds[i] = -1;  // EOF or error; the Pipe closes it
      }
    }
  }
  return "";
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& opts) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "run_process: empty argv");
  const std::string& prog = argv[0];
  Pipe out, err;
  if (::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return spawn_error("pipe", prog);
  }
  const pid_t pid = spawn(argv, out.fd[1], err.fd[1], opts.own_process_group);
  if (pid < 0) return spawn_error("cannot start", prog);
  out.close_end(1);
  err.close_end(1);

  ProcessResult result;
  std::string* bufs[2] = {&result.out, &result.err};
  int fds[2] = {out.fd[0], err.fd[0]};
  int status = 0;
  bool reaped = false;
  const std::string failure = collect(pid, fds, bufs, opts, status, reaped);
  if (!failure.empty()) ::kill(opts.own_process_group ? -pid : pid, SIGKILL);
  while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failure.empty()) return make_error(ErrorCode::kInternal, prog + ": " + failure);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace depot
