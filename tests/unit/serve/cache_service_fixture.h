#pragma once
// The fixture of the CacheService tests: a service over a temporary root and cache, its
// upstream "u" a scripted TestServer at /up. Not thread-safe (one test thread).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "serve/cache_service.h"
#include "support/digests.h"
#include "support/temp_dir.h"
#include "support/test_http_server.h"

namespace depot::testing {

namespace fs = std::filesystem;

// A one-paragraph Packages index naming `filename` with the size and sha256 of `deb`.
inline std::string packages_naming(const std::string& name, const std::string& filename,
                            const std::string& deb) {
  return "Package: " + name + "\nVersion: 1\nArchitecture: all\nFilename: " + filename +
         "\nSize: " + std::to_string(deb.size()) + "\nSHA256: " + sha256_hex(deb) + "\n\n";
}

inline std::string read_fd(int fd, uint64_t size) {
  std::string out(size, '\0');
  EXPECT_EQ(::pread(fd, out.data(), size, 0), static_cast<ssize_t>(size));
  return out;
}

class CacheServiceTest : public ::testing::Test {
 public:
  void start_service() { start(); }
  CacheService& service() { return *service_; }

 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "root");
    opts_.root = dir_.path() / "root";
    opts_.cache_dir = dir_.path() / "cache";
    opts_.upstreams = {{"u", server_.url("/up")}};
    opts_.download.retry.max_attempts = 1;
    opts_.upstream_workers = 4;
  }
  void start() {
    auto s = CacheService::create(opts_, metrics_, logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    service_ = std::move(*s);
  }
  // Resolves and waits for the answer; a streaming answer is waited on until it ends.
  Answer get(const std::string& rel, bool slash = false, bool* sync = nullptr,
             const std::string& host = "", const std::string& accept = "") {
    ServeRequest r;
    r.rel = rel;
    r.trailing_slash = slash;
    r.host = host;
    r.accept = accept;
    auto promise = std::make_shared<std::promise<Answer>>();
    auto fut = promise->get_future();
    auto now = service_->resolve(r, [promise](Answer a) { promise->set_value(std::move(a)); });
    if (sync) *sync = now.has_value();
    Answer a;
    if (now) {
      a = std::move(*now);
    } else {
      EXPECT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
      a = fut.get();
    }
    if (a.kind == Answer::Kind::kStream) {
      for (;;) {
        auto snap = a.download->snapshot();
        if (snap.state == Download::State::kComplete || snap.state == Download::State::kFailed) {
          break;
        }
        std::promise<void> moved;
        auto f = moved.get_future();
        a.download->wait(snap.state, snap.sendable(), [&moved] { moved.set_value(); });
        f.wait();
      }
    }
    return a;
  }
  std::string body(const Answer& a) {
    if (a.kind == Answer::Kind::kFile) return read_fd(a.body->fd.get(), a.size);
    if (a.kind == Answer::Kind::kStream &&
        a.download->snapshot().state == Download::State::kComplete) {
      return read_fd(a.download->body_fd(), a.size);
    }
    return "<no body>";
  }
  // Package indexes are read after their readers were released: waits until `n` package files
  // are known.
  bool wait_for_known_packages(int64_t n) {
    for (int i = 0; i < 500 && metrics_.known_pool_files.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      service_->tick();
    }
    return metrics_.known_pool_files.load() == n;
  }
  // The answer failed: an error, or a download that ended in failure.
  static bool failed(const Answer& a) {
    return a.kind == Answer::Kind::kError ||
           (a.kind == Answer::Kind::kStream &&
            a.download->snapshot().state == Download::State::kFailed);
  }
  void write_root(const std::string& rel, const std::string& text) {
    fs::create_directories((opts_.root / rel).parent_path());
    std::ofstream(opts_.root / rel) << text;
  }

  TempDir dir_;
  TestServer server_;
  FakeClock clock_;  // for tests that set opts_.clock; outlives service_
  ServiceOptions opts_;
  ServeMetrics metrics_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<CacheService> service_;
};

}  // namespace depot::testing
