#include "serve/upstream_health.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

using std::chrono::seconds;

class UpstreamHealthTest : public ::testing::Test {
 protected:
  UpstreamHealthTest() {
    opts_.cooldown = seconds(30);
    opts_.window = seconds(30);
    opts_.min_paths = 3;
    opts_.path_ttl = seconds(10);
  }
  PathFailure failure() { return PathFailure{502, "http://up/x: HTTP 500"}; }
  HealthOptions opts_;
  FakeClock clock_;
};

TEST_F(UpstreamHealthTest, OnePathFailingIsRememberedForThatPathOnly) {
  UpstreamHealth h(opts_, clock_);
  for (int i = 0; i < 50; ++i) h.on_path_failure("bad", failure());  // one path, again and again
  EXPECT_FALSE(h.circuit_open());
  ASSERT_TRUE(h.path_failure("bad").has_value());
  EXPECT_EQ(h.path_failure("bad")->status, 502);
  EXPECT_FALSE(h.path_failure("good").has_value());
  clock_.advance(seconds(11));
  EXPECT_FALSE(h.path_failure("bad").has_value());
}

TEST_F(UpstreamHealthTest, ManyPathsFailingOpenTheCircuitUntilTheCooldown) {
  UpstreamHealth h(opts_, clock_);
  h.on_path_failure("a", failure());
  h.on_path_failure("b", failure());
  EXPECT_FALSE(h.circuit_open());
  h.on_path_failure("c", failure());
  EXPECT_TRUE(h.circuit_open());
  clock_.advance(seconds(31));
  EXPECT_FALSE(h.circuit_open());
}

TEST_F(UpstreamHealthTest, FailuresAmongMostlySuccessesKeepItClosed) {
  UpstreamHealth h(opts_, clock_);
  for (const char* p : {"a", "b", "c", "d"}) {
    h.on_success("ok1");
    h.on_success("ok2");
    h.on_path_failure(p, failure());
  }
  EXPECT_FALSE(h.circuit_open());  // 4 failing paths, but only a third of the outcomes
}

TEST_F(UpstreamHealthTest, FailuresOutsideTheWindowAreForgotten) {
  UpstreamHealth h(opts_, clock_);
  h.on_path_failure("a", failure());
  h.on_path_failure("b", failure());
  clock_.advance(seconds(31));
  h.on_path_failure("c", failure());
  EXPECT_FALSE(h.circuit_open());
}

TEST_F(UpstreamHealthTest, AnUnreachableHostOpensAtOnceAndASuccessCloses) {
  UpstreamHealth h(opts_, clock_);
  h.on_unreachable();
  EXPECT_TRUE(h.circuit_open());
  clock_.advance(seconds(31));
  EXPECT_FALSE(h.circuit_open());
  h.on_unreachable();
  h.on_success("x");  // a probe got through
  EXPECT_FALSE(h.circuit_open());
}

TEST_F(UpstreamHealthTest, ASuccessForgetsThePathsFailure) {
  UpstreamHealth h(opts_, clock_);
  h.on_path_failure("a", failure());
  h.on_success("a");
  EXPECT_FALSE(h.path_failure("a").has_value());
}

TEST_F(UpstreamHealthTest, RememberedPathsAreBoundedAndPruned) {
  opts_.max_remembered_paths = 2;
  opts_.min_paths = 1000;
  UpstreamHealth h(opts_, clock_);
  h.on_path_failure("a", failure());
  h.on_path_failure("b", failure());
  h.on_path_failure("c", failure());
  EXPECT_TRUE(h.path_failure("a").has_value());
  EXPECT_FALSE(h.path_failure("c").has_value());  // full: not remembered
  clock_.advance(seconds(11));
  h.prune();
  h.on_path_failure("c", failure());
  EXPECT_TRUE(h.path_failure("c").has_value());
}

}  // namespace
}  // namespace depot
