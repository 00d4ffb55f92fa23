#include "mirror/disk_writer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "storage/fs/fs_target.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status put(ByteSink& s, const std::string& data) {
  return s.write(std::as_bytes(std::span(data.data(), data.size())));
}

class DiskWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { target_ = std::move(open_fs_target(dir_.path()).value()); }

  // Finishes `sink` and commits what the writer produced; returns the finish result.
  Status finish_and_commit(DiskWriter& w, DiskWriter::Sink& sink) {
    Status result;
    std::unique_ptr<WriteTxn> txn;
    sink.finish([&](Result<std::unique_ptr<WriteTxn>> r) {
      if (r.ok()) {
        txn = std::move(r).value();
      } else {
        result = r.error();
      }
    });
    w.drain();
    if (!result.ok()) return result;
    std::vector<std::unique_ptr<WriteTxn>> batch;
    batch.push_back(std::move(txn));
    return target_->commit(batch);
  }

  testing::TempDir dir_;
  std::unique_ptr<Target> target_;
};

TEST_F(DiskWriterTest, LargeAndSmallFilesArriveIntact) {
  DiskWriter w(*target_, /*max_queued_bytes=*/1 << 20);  // forces back-pressure
  std::string big;
  for (int i = 0; i < 5 << 20; ++i) big += static_cast<char>('a' + i % 23);
  auto s1 = w.make_sink(*RelPath::parse("big.bin"));
  auto s2 = w.make_sink(*RelPath::parse("d/small.bin"));
  for (size_t off = 0; off < big.size(); off += 100000) {
    ASSERT_TRUE(put(*s1, big.substr(off, 100000)).ok());
    if (off == 0) {
      ASSERT_TRUE(put(*s2, "small").ok());
    }
  }
  EXPECT_EQ(s1->bytes_written(), big.size());
  ASSERT_TRUE(finish_and_commit(w, *s2).ok());
  ASSERT_TRUE(finish_and_commit(w, *s1).ok());
  EXPECT_EQ(read(dir_.path() / "big.bin"), big);
  EXPECT_EQ(read(dir_.path() / "d/small.bin"), "small");
}

TEST_F(DiskWriterTest, ResetDiscardsQueuedAndWrittenBytes) {
  DiskWriter w(*target_);
  auto s = w.make_sink(*RelPath::parse("f"));
  ASSERT_TRUE(put(*s, std::string(600 << 10, 'x')).ok());  // some chunks queued, some buffered
  ASSERT_TRUE(s->reset().ok());
  EXPECT_EQ(s->bytes_written(), 0u);
  ASSERT_TRUE(put(*s, "retry").ok());
  ASSERT_TRUE(finish_and_commit(w, *s).ok());
  EXPECT_EQ(read(dir_.path() / "f"), "retry");
}

TEST_F(DiskWriterTest, EmptyFileAndDropLeaveNoDebris) {
  DiskWriter w(*target_);
  auto empty = w.make_sink(*RelPath::parse("empty"));
  ASSERT_TRUE(finish_and_commit(w, *empty).ok());
  EXPECT_TRUE(fs::exists(dir_.path() / "empty"));
  auto dropped = w.make_sink(*RelPath::parse("dropped"));
  ASSERT_TRUE(put(*dropped, std::string(300 << 10, 'y')).ok());
  dropped->drop();
  w.drain();
  EXPECT_FALSE(fs::exists(dir_.path() / "dropped"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".depot/tmp"));
}

TEST_F(DiskWriterTest, WriteFailureReachesFinish) {
  { std::ofstream(dir_.path() / "x") << "a file"; }
  DiskWriter w(*target_);
  auto s = w.make_sink(*RelPath::parse("x/under-a-file"));
  ASSERT_TRUE(put(*s, "data").ok());
  Status st = finish_and_commit(w, *s);  // the temporary opens fine; the commit refuses
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace depot
