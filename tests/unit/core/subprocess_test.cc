#include "core/subprocess.h"

#include <signal.h>

#include <gtest/gtest.h>

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

TEST(Subprocess, StdinIsEmpty) {
  auto r = run_process({"cat"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "");
}

}  // namespace
}  // namespace depot
