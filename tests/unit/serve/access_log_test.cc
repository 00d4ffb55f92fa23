#include "serve/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace depot {
namespace {

AccessRecord sample_record() {
  AccessRecord r;
  r.remote = "127.0.0.1";
  r.method = "GET";
  r.target = "/x";
  r.status = 200;
  r.bytes = 123;
  r.duration = std::chrono::microseconds(123);
  r.outcome = CacheOutcome::kHit;
  r.user_agent = "apt/2.6";
  r.time = 1795255200;  // 2026-11-21T10:00:00Z
  return r;
}

TEST(AccessLogFormat, TextLine) {
  EXPECT_EQ(format_access_record(sample_record(), AccessLogFormat::kText),
            "127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 123 \"-\" "
            "\"apt/2.6\" HIT 0.000123\n");
  AccessRecord r = sample_record();
  r.outcome = CacheOutcome::kNone;
  r.status = 404;
  r.bytes = 0;
  r.user_agent.clear();
  r.referer = "http://example.org/";
  r.duration = std::chrono::microseconds(2500000);
  EXPECT_EQ(format_access_record(r, AccessLogFormat::kText),
            "127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] \"GET /x HTTP/1.1\" 404 0 "
            "\"http://example.org/\" \"-\" - 2.500000\n");
}

TEST(AccessLogFormat, TextEscapesHostileBytes) {
  AccessRecord r = sample_record();
  r.target = "/a\"b\\c\nd\x1b[31me\x7f\xff";
  r.user_agent = "x\" 200 999 \"forged";
  r.method = "G\rET";
  std::string line = format_access_record(r, AccessLogFormat::kText);
  EXPECT_NE(line.find("\"G\\x0dET /a\\x22b\\x5cc\\x0ad\\x1b[31me\\x7f\\xff HTTP/1.1\""),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("\"x\\x22 200 999 \\x22forged\""), std::string::npos) << line;
  ASSERT_EQ(line.back(), '\n');
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c) << " at " << i;
  }
  // Exactly six quote characters delimit the three quoted fields.
  EXPECT_EQ(std::count(line.begin(), line.end(), '"'), 6);
}

TEST(AccessLogFormat, JsonFields) {
  AccessRecord r = sample_record();
  r.referer = "http://r/";
  std::string line = format_access_record(r, AccessLogFormat::kJson);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-11-21T10:00:00Z");
  EXPECT_EQ(j["remote"], "127.0.0.1");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["target"], "/x");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"], 123);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 0.000123);
  EXPECT_EQ(j["cache"], "HIT");
  EXPECT_EQ(j["user_agent"], "apt/2.6");
  EXPECT_EQ(j["referer"], "http://r/");
  EXPECT_EQ(line.rfind("{\"time\":", 0), 0u) << line;  // keys in the documented order
}

TEST(AccessLogFormat, JsonValidForArbitraryBytes) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 64);
  for (int i = 0; i < 2000; ++i) {
    AccessRecord r = sample_record();
    for (std::string* s : {&r.target, &r.user_agent, &r.referer, &r.method, &r.remote}) {
      s->clear();
      int n = len(rng);
      for (int k = 0; k < n; ++k) s->push_back(static_cast<char>(byte(rng)));
    }
    std::string line = format_access_record(r, AccessLogFormat::kJson);
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << i;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << i;
    EXPECT_EQ(j["status"], 200);
  }
  // Valid UTF-8 and control bytes survive exactly.
  AccessRecord r = sample_record();
  r.user_agent = "caf\xc3\xa9 \xe2\x82\xac \"q\" \\ \n\t\x01";
  auto j = nlohmann::json::parse(format_access_record(r, AccessLogFormat::kJson));
  EXPECT_EQ(j["user_agent"], r.user_agent);
  // Invalid UTF-8 is replaced, not dropped.
  r.user_agent =
      "a\xff"
      "b";
  j = nlohmann::json::parse(format_access_record(r, AccessLogFormat::kJson));
  EXPECT_EQ(j["user_agent"],
            "a\xef\xbf\xbd"
            "b");
}

// A temp file to log into; read back by path.
class AccessLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/depot-access-log-XXXXXX";
    fd_ = ::mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
  }
  void TearDown() override {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::string contents() const {
    std::string out;
    char buf[65536];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(fd_, buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }
  int fd_ = -1;
  std::string path_;
};

TEST_F(AccessLogFile, FlushWritesSynchronously) {
  AccessLog log(fd_, AccessLogFormat::kText);
  log.write(sample_record());
  log.write(sample_record());
  log.flush();
  std::string expected = format_access_record(sample_record(), AccessLogFormat::kText);
  EXPECT_EQ(contents(), expected + expected);
  log.flush();  // nothing new: no duplicate
  EXPECT_EQ(contents(), expected + expected);
}

TEST_F(AccessLogFile, DestructorFlushes) {
  {
    AccessLog log(fd_, AccessLogFormat::kJson);
    log.write(sample_record());
  }
  EXPECT_EQ(contents(), format_access_record(sample_record(), AccessLogFormat::kJson));
}

TEST_F(AccessLogFile, ConcurrentWritersKeepLinesWhole) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  {
    AccessLog log(fd_, AccessLogFormat::kJson);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kPerThread; ++i) {
          AccessRecord r = sample_record();
          r.target = "/t" + std::to_string(t) + "/" + std::to_string(i);
          log.write(r);
          if (i % 97 == 0) log.flush();
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::istringstream in(contents());
  std::string line;
  std::vector<int> next(kThreads, 0);
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    std::string target = j["target"];
    int t = target[2] - '0';
    int i = std::atoi(target.c_str() + 4);
    EXPECT_EQ(i, next[t]) << "lines of one writer out of order";
    next[t] = i + 1;
    ++lines;
  }
  EXPECT_EQ(lines, kThreads * kPerThread);
}

TEST(AccessLogFlusher, WritesWithoutExplicitFlush) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  {
    AccessLog log(p[1], AccessLogFormat::kText);
    log.write(sample_record());
    // The flusher writes within 100 ms; allow a generous bound on a loaded machine.
    pollfd pfd{p[0], POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
    char buf[512];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
              format_access_record(sample_record(), AccessLogFormat::kText));
  }
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace depot
