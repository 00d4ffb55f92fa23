#include "mirror/index_content.h"

#include <gtest/gtest.h>

#include "support/memory_target.h"

namespace depot {
namespace {

std::string read(IndexContent& c) {
  auto bytes = read_content(c, "test");
  return bytes.ok() ? *bytes : "<error: " + bytes.error().message + ">";
}

std::unique_ptr<WriteTxn> written(Target& target, const std::string& path, const std::string& body) {
  auto txn = target.begin_write(*RelPath::parse(path), WriteHints{.readable = true});
  EXPECT_TRUE(txn.ok());
  EXPECT_TRUE((*txn)->write(std::as_bytes(std::span(body.data(), body.size()))).ok());
  EXPECT_TRUE((*txn)->close().ok());
  return std::move(txn).value();
}

TEST(IndexContent, PendingReadsTheTransactionThenTheCommittedFile) {
  testing::MemoryTarget target;
  target.put("dists/s/Release", "old");
  auto content = pending_content(target, written(target, "dists/s/Release", "new"));
  EXPECT_EQ(read(*content), "new");
  EXPECT_EQ(read(*content), "new");  // every open() starts from the first byte
  EXPECT_EQ(content->take_txn(*RelPath::parse("dists/s/Other")), nullptr);  // not its path
  std::vector<std::unique_ptr<WriteTxn>> txns;
  txns.push_back(content->take_txn(*RelPath::parse("dists/s/Release")));
  ASSERT_NE(txns[0], nullptr);
  EXPECT_EQ(content->take_txn(*RelPath::parse("dists/s/Release")), nullptr);  // once
  ASSERT_TRUE(target.commit(txns).ok());
  EXPECT_EQ(read(*content), "new");
}

TEST(IndexContent, CommittedReadsTheTargetAndReportsAMissingFile) {
  testing::MemoryTarget target;
  target.put("repodata.json", "{}");
  auto content = committed_content(target, *RelPath::parse("repodata.json"));
  EXPECT_EQ(read(*content), "{}");
  EXPECT_EQ(content->take_txn(*RelPath::parse("repodata.json")), nullptr);
  auto gone = committed_content(target, *RelPath::parse("gone.json"));
  auto in = gone->open();
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace depot
