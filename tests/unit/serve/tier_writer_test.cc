#include "serve/tier_writer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

namespace depot {
namespace {

// A tier whose puts wait until released; records what it stored.
class GatedTier final : public CacheTier {
 public:
  std::string url(std::string_view key) const override { return "test://" + std::string(key); }
  std::string describe(std::string_view key) const override { return url(key); }
  void configure(DownloadOptions&) const override {}
  Status put(std::string_view key, ByteSource& in, uint64_t, std::string_view) override {
    DEPOT_ASSIGN_OR_RETURN(std::string bytes, read_all(in, key));
    std::unique_lock lock(mu_);
    ++started_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    if (bytes == "refuse") return make_error(ErrorCode::kIo, url(key) + ": bucket is full");
    stored_[std::string(key)] = bytes;
    return ok_status();
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait_started(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_ >= n; });
  }
  std::map<std::string, std::string> stored() {
    std::lock_guard lock(mu_);
    return stored_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int started_ = 0;
  std::map<std::string, std::string> stored_;
};

class TierWriterTest : public ::testing::Test {
 protected:
  // Local copies: the key's bytes are the key's name, except where `files_` says otherwise.
  TierWriter::OpenFn open_fn() {
    return [this](const std::string& key) -> Result<std::unique_ptr<ByteSource>> {
      if (key == "gone") return make_error(ErrorCode::kNotFound, "files/gone: no such file");
      auto it = files_.find(key);
      return memory_source(std::make_shared<const std::string>(it == files_.end() ? key : it->second));
    };
  }
  std::map<std::string, std::string> files_;
  GatedTier tier_;
  ServeMetrics metrics_;
  Logger logger_{LogLevel::kError};
};

TEST_F(TierWriterTest, CopiesEachQueuedBlobOnce) {
  TierWriter w(tier_, open_fn(), 1, 10, metrics_, logger_);
  EXPECT_TRUE(w.submit({"a", "", 1}));
  tier_.wait_started(1);  // "a" is being put; "b" waits
  EXPECT_TRUE(w.submit({"b", "", 1}));
  EXPECT_FALSE(w.submit({"b", "", 1}));  // already waiting
  tier_.open();
  ASSERT_TRUE(w.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(tier_.stored(), (std::map<std::string, std::string>{{"a", "a"}, {"b", "b"}}));
  EXPECT_EQ(metrics_.tier_stored.load(), 2u);
}

TEST_F(TierWriterTest, BlobsBeyondTheQueueBoundAreDroppedAndCounted) {
  TierWriter w(tier_, open_fn(), 1, 2, metrics_, logger_);
  EXPECT_TRUE(w.submit({"a", "", 1}));
  tier_.wait_started(1);
  EXPECT_TRUE(w.submit({"b", "", 1}));
  EXPECT_TRUE(w.submit({"c", "", 1}));
  EXPECT_FALSE(w.submit({"d", "", 1}));
  EXPECT_EQ(metrics_.tier_dropped.load(), 1u);
  tier_.open();
  ASSERT_TRUE(w.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(tier_.stored().size(), 3u);
}

TEST_F(TierWriterTest, FailedPutsAndVanishedCopiesAreCountedAndTheRestGoesOn) {
  files_["full"] = "refuse";
  TierWriter w(tier_, open_fn(), 2, 10, metrics_, logger_);
  tier_.open();
  EXPECT_TRUE(w.submit({"full", "", 6}));
  EXPECT_TRUE(w.submit({"gone", "", 1}));
  EXPECT_TRUE(w.submit({"ok", "", 2}));
  ASSERT_TRUE(w.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(metrics_.tier_errors.load(), 2u);
  EXPECT_EQ(metrics_.tier_stored.load(), 1u);
  EXPECT_EQ(tier_.stored().count("ok"), 1u);
}

}  // namespace
}  // namespace depot
