#pragma once
// IncomingWatcher: imports every complete .deb that appears in a directory (closed after
// writing, or renamed in) into one repository of a publish daemon; imported files move to
// dir/.imported/, refused ones to dir/.failed/ with a .error note. Files already there at start
// are taken too. One watching thread (inotify); start() and stop() from one owner thread.

#include <filesystem>
#include <string>
#include <thread>

#include "core/logger.h"
#include "core/result.h"
#include "pool/daemon.h"

namespace depot {

class IncomingWatcher {
 public:
  IncomingWatcher(std::filesystem::path dir, std::string repo, pool::Daemon& daemon, Logger& log)
      : dir_(std::move(dir)), repo_(std::move(repo)), daemon_(daemon), log_(log) {}
  ~IncomingWatcher() { stop(); }

  Status start();
  void stop();

 private:
  void take(const std::filesystem::path& file);
  void run();

  std::filesystem::path dir_;
  std::string repo_;
  pool::Daemon& daemon_;
  Logger& log_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace depot
