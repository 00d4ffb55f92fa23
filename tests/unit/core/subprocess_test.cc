#include "core/subprocess.h"

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

TEST(Subprocess, StdinIsEmpty) {
  auto r = run_process({"cat"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "");
}

}  // namespace
}  // namespace depot
