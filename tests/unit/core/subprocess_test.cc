#include "core/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace depot {
namespace {

TEST(Subprocess, CollectsOutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Subprocess, ArgumentsAreNotInterpretedByAShell) {
  auto r = run_process({"printf", "%s", "a b; $(true) *"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a b; $(true) *");
}

TEST(Subprocess, MissingProgramIsAnError) {
  auto r = run_process({"depot-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("depot-no-such-program"), std::string::npos);
}

TEST(Subprocess, TimeoutKillsTheChild) {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto r = run_process({"sleep", "30"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
}

// True once `pid` has exited (gone, or a zombie waiting for its new parent to reap it).
bool exited(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(Subprocess, ATimeoutKillsTheWholeGroupOfAChildLeadingOne) {
  char dir_template[] = "/tmp/depot-subprocess-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string pid_file = std::string(dir_template) + "/pid";
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(500);
  o.own_process_group = true;
  auto r = run_process({"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, o);
  ASSERT_FALSE(r.ok());
  std::string grandchild;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_FALSE(grandchild.empty());
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = exited(grandchild);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!gone) ::kill(std::stoi(grandchild), SIGKILL);
  EXPECT_TRUE(gone) << "the hook's own child outlived the timeout";
  std::filesystem::remove_all(dir_template);
}

TEST(Subprocess, OutputFloodIsCut) {
  ProcessOptions o;
  o.max_output = 1000;
  auto r = run_process({"yes"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("limit"), std::string::npos);
}

TEST(Subprocess, TheChildHasDefaultSignalsWhateverThisProcessIgnoresOrBlocks) {
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  auto r = run_process({"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // SIGPIPE is bit 13 (0x1000), SIGHUP bit 1 (0x1): neither may be set.
  for (const char* line : {"SigBlk", "SigIgn"}) {
    auto at = r->out.find(line);
    ASSERT_NE(at, std::string::npos) << r->out;
    unsigned long long mask = std::stoull(r->out.substr(at + 8, 16), nullptr, 16);
    EXPECT_EQ(mask & 0x1001ull, 0u) << line << ": " << r->out;
  }
}

TEST(Subprocess, TheChildInheritsNoDescriptorButItsPipes) {
  // Opened without O_CLOEXEC, as a listening socket or a connection may be.
  const int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 3);
  auto r = run_process({"ls", "/proc/self/fd"});
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // 0, 1, 2 and ls's own handle on the directory it lists.
  EXPECT_EQ(r->out, "0\n1\n2\n3\n") << "inherited: " << r->out;
}

TEST(Subprocess, ReturnsWhenTheChildExitsThoughItsChildHoldsThePipes) {
  const auto start = std::chrono::steady_clock::now();
  auto r = run_process({"sh", "-c", "echo started; sleep 3 & exit 7"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->out, "started\n");
  EXPECT_LT(took, std::chrono::seconds(2)) << "waited for the background child";
}

TEST(Subprocess, ACancelKillsTheWholeGroup) {
  std::atomic<bool> cancel{false};
  ProcessOptions o;
  o.own_process_group = true;
  o.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = run_process({"sh", "-c", "sleep 30; echo not killed"}, o);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Subprocess, StdinIsEmpty) {
  auto r = run_process({"cat"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "");
}

}  // namespace
}  // namespace depot
