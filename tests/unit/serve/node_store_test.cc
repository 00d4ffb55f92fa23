#include "serve/node_store.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

RelPath rel(std::string_view s) { return RelPath::parse(s).value(); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class NodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "node";
    fs::create_directories(root_);
  }

  std::unique_ptr<NodeStore> open(uint64_t capacity = 0, ReconcileReport* report = nullptr) {
    NodeOptions o;
    o.root = root_;
    o.name = "n1";
    o.capacity = capacity;
    if (free_ > 0) o.free_bytes = [this]() -> Result<uint64_t> { return free_; };
    auto s = NodeStore::open(o, null_logger(), report);
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  Result<NodeFile> put(NodeStore& s, std::string_view path, std::string_view body,
                       std::string_view sha = {}) {
    auto up = s.begin_put(rel(path), body.size(), sha.empty() ? sha256_hex(body) : sha);
    if (!up.ok()) return up.error();
    DEPOT_TRY((*up)->write(body.data(), body.size()));
    return s.commit(std::move(*up));
  }

  size_t tmp_files() const {
    size_t n = 0;
    for (auto it = fs::directory_iterator(root_ / ".depot-node/tmp"); it != fs::end(it); ++it) ++n;
    return n;
  }

  void write(const fs::path& relp, std::string_view body) {
    fs::create_directories((root_ / relp).parent_path());
    std::ofstream(root_ / relp, std::ios::binary) << body;
  }

  testing::TempDir dir_;
  fs::path root_;
  uint64_t free_ = 0;  // 0: statvfs
};

TEST_F(NodeStoreTest, PutCommitsAndIsVisible) {
  auto s = open();
  auto f = put(*s, "pool/a/b.deb", "hello");
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->size, 5u);
  EXPECT_EQ(f->sha256, sha256_hex("hello"));
  EXPECT_GT(f->seq, 0);
  EXPECT_EQ(read_file(root_ / "pool/a/b.deb"), "hello");
  auto found = s->lookup(rel("pool/a/b.deb"));
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->sha256, sha256_hex("hello"));
  auto st = s->status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->used, 5u);
  EXPECT_EQ(st->files, 1u);
  EXPECT_EQ(st->inflight, 0u);
  EXPECT_EQ(st->name, "n1");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(NodeStoreTest, DigestMismatchLeavesNothing) {
  auto s = open();
  auto f = put(*s, "x.bin", "payload", sha256_hex("other"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kDigestMismatch);
  EXPECT_NE(f.error().message.find("x.bin"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "x.bin"));
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(s->status()->inflight, 0u);
  EXPECT_TRUE(s->changes(0, 10)->changes.empty());
}

TEST_F(NodeStoreTest, LengthMismatchLeavesNothing) {
  auto s = open();
  auto up = s->begin_put(rel("short"), 10, sha256_hex("0123456789"));
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write("01234", 5).ok());
  auto f = s->commit(std::move(*up));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kSizeMismatch);

  auto up2 = s->begin_put(rel("long"), 3, sha256_hex("abc"));
  ASSERT_TRUE(up2.ok());
  Status st = (*up2)->write("abcd", 4);
  EXPECT_EQ(st.error().code, ErrorCode::kSizeMismatch);
  up2->reset();
  EXPECT_FALSE(fs::exists(root_ / "short"));
  EXPECT_FALSE(fs::exists(root_ / "long"));
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(s->status()->inflight, 0u);
}

TEST_F(NodeStoreTest, DroppedUploadKeepsOldFile) {
  auto s = open();
  ASSERT_TRUE(put(*s, "f", "old").ok());
  auto up = s->begin_put(rel("f"), 6, sha256_hex("newer!"));
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write("new", 3).ok());
  EXPECT_EQ(tmp_files(), 1u);
  EXPECT_EQ(s->status()->inflight, 6u);
  up->reset();  // the client went away
  EXPECT_EQ(read_file(root_ / "f"), "old");
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(s->status()->inflight, 0u);
}

TEST_F(NodeStoreTest, OverwriteReplacesAndAccountsSize) {
  auto s = open();
  ASSERT_TRUE(put(*s, "f", "old").ok());
  auto f = put(*s, "f", "much newer");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(read_file(root_ / "f"), "much newer");
  EXPECT_EQ(s->status()->used, 10u);
  EXPECT_EQ(s->status()->files, 1u);
}

// The size placement weighs a node by: the capacity, else the disk's size, whatever is free.
TEST_F(NodeStoreTest, SizeIsTheCapacityElseTheDisksSize) {
  free_ = 12345;
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs(root_.c_str(), &vfs), 0);
  EXPECT_EQ(open()->status()->size, static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize);
  EXPECT_EQ(open(100)->status()->size, 100u);
  EXPECT_EQ(open(100)->status()->free, 12345u);
}

TEST_F(NodeStoreTest, CapacityCountsUploadsInFlight) {
  auto s = open(100);
  auto a = s->begin_put(rel("a"), 60, sha256_hex(std::string(60, 'a')));
  ASSERT_TRUE(a.ok());
  auto b = s->begin_put(rel("b"), 50, sha256_hex(std::string(50, 'b')));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kRefused);
  EXPECT_NE(b.error().message.find("n1 is full"), std::string::npos) << b.error().message;
  EXPECT_EQ(s->status()->inflight, 60u);
  std::string body(60, 'a');
  ASSERT_TRUE((*a)->write(body.data(), body.size()).ok());
  ASSERT_TRUE(s->commit(std::move(*a)).ok());
  EXPECT_EQ(s->status()->used, 60u);
  EXPECT_FALSE(s->begin_put(rel("b"), 50, sha256_hex("x")).ok());  // 60 + 50 > 100
  EXPECT_TRUE(s->begin_put(rel("b"), 40, sha256_hex("x")).ok());
  // An overwrite is not credited with the size it replaces until it commits.
  EXPECT_FALSE(s->begin_put(rel("a"), 60, sha256_hex("x")).ok());
}

TEST_F(NodeStoreTest, ConcurrentReservationsNeverOverfill) {
  auto s = open(1000);
  std::atomic<uint64_t> granted{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::unique_ptr<NodeUpload>> held;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto up = s->begin_put(rel("f" + std::to_string(t) + "-" + std::to_string(i)), 30,
                               sha256_hex("x"));
        if (!up.ok()) continue;
        granted += 30;
        std::lock_guard lock(mu);
        held.push_back(std::move(*up));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(granted.load(), 1000u);
  EXPECT_EQ(granted.load(), 990u);  // 33 uploads of 30 bytes fit
  EXPECT_EQ(s->status()->inflight, granted.load());
  held.clear();
  EXPECT_EQ(s->status()->inflight, 0u);
}

TEST_F(NodeStoreTest, DiskFreeSpaceRefuses) {
  free_ = 100;
  auto s = open();
  auto a = s->begin_put(rel("a"), 80, sha256_hex("x"));
  ASSERT_TRUE(a.ok());
  auto b = s->begin_put(rel("b"), 30, sha256_hex("x"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kRefused);
  EXPECT_NE(b.error().message.find("disk"), std::string::npos);
}

TEST_F(NodeStoreTest, TreeInTheWayIsRefused) {
  auto s = open();
  fs::create_directories(dir_.path() / "outside");
  fs::create_directory_symlink(dir_.path() / "outside", root_ / "link");
  fs::create_directories(root_ / "dir");
  ASSERT_TRUE(put(*s, "file", "f").ok());
  for (const char* p : {"link/x", "file/x", "dir"}) {
    auto f = put(*s, p, "body");
    ASSERT_FALSE(f.ok()) << p;
    EXPECT_EQ(f.error().code, ErrorCode::kUnsafePath) << p << ": " << f.error().message;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path() / "outside"));
  EXPECT_EQ(tmp_files(), 0u);
  EXPECT_EQ(s->status()->inflight, 0u);
}

TEST_F(NodeStoreTest, RemoveRecordsDeleteAndPrunes) {
  auto s = open();
  ASSERT_TRUE(put(*s, "a/b/c.txt", "abc").ok());
  ASSERT_TRUE(put(*s, "a/keep", "k").ok());
  auto seq = s->remove(rel("a/b/c.txt"));
  ASSERT_TRUE(seq.ok()) << seq.error().to_string();
  EXPECT_FALSE(fs::exists(root_ / "a/b"));
  EXPECT_TRUE(fs::exists(root_ / "a/keep"));
  EXPECT_FALSE(*s->lookup(rel("a/b/c.txt")));
  EXPECT_EQ(s->status()->used, 1u);
  EXPECT_EQ(s->status()->files, 1u);
  auto again = s->remove(rel("a/b/c.txt"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  // A file the inventory does not know yet (added behind the node's back) is removed too.
  write("stray", "s");
  EXPECT_TRUE(s->remove(rel("stray")).ok());
  EXPECT_FALSE(fs::exists(root_ / "stray"));
}

TEST_F(NodeStoreTest, LookupChecksTheTree) {
  auto s = open();
  ASSERT_TRUE(put(*s, "f", "abc").ok());
  fs::remove(root_ / "f");
  EXPECT_FALSE(*s->lookup(rel("f")));
  EXPECT_FALSE(*s->lookup(rel("never")));
}

TEST_F(NodeStoreTest, InventorySeqAndPaging) {
  auto s = open();
  ASSERT_TRUE(put(*s, "a", "1").ok());
  ASSERT_TRUE(put(*s, "b", "22").ok());
  ASSERT_TRUE(put(*s, "c", "333").ok());
  ASSERT_TRUE(put(*s, "a", "4444").ok());  // replaces a's change
  ASSERT_TRUE(s->remove(rel("b")).ok());
  auto all = s->changes(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->changes.size(), 3u);
  EXPECT_EQ(all->changes[0].path, "c");
  EXPECT_EQ(all->changes[1].path, "a");
  EXPECT_EQ(all->changes[1].size, 4u);
  EXPECT_EQ(all->changes[1].sha256, sha256_hex("4444"));
  EXPECT_EQ(all->changes[2].path, "b");
  EXPECT_TRUE(all->changes[2].deleted);
  EXPECT_LT(all->changes[0].seq, all->changes[1].seq);
  EXPECT_LT(all->changes[1].seq, all->changes[2].seq);
  EXPECT_EQ(all->last, all->changes[2].seq);
  EXPECT_FALSE(all->more);

  auto p1 = s->changes(0, 2);
  ASSERT_EQ(p1->changes.size(), 2u);
  EXPECT_TRUE(p1->more);
  EXPECT_EQ(p1->last, p1->changes[1].seq);
  auto p2 = s->changes(p1->last, 2);
  ASSERT_EQ(p2->changes.size(), 1u);
  EXPECT_EQ(p2->changes[0].path, "b");
  EXPECT_FALSE(p2->more);
  auto none = s->changes(p2->last, 2);
  EXPECT_TRUE(none->changes.empty());
  EXPECT_EQ(none->last, p2->last);
  EXPECT_FALSE(none->more);
  EXPECT_EQ(s->changes(1000, 2)->last, p2->last);  // the node is behind the caller
}

TEST_F(NodeStoreTest, SeqNeverReusedAcrossRestarts) {
  int64_t last = 0;
  {
    auto s = open();
    ASSERT_TRUE(put(*s, "a", "1").ok());
    last = put(*s, "a", "2")->seq;  // the newest change replaces the newest row
  }
  auto s = open();
  auto f = put(*s, "b", "3");
  ASSERT_TRUE(f.ok());
  EXPECT_GT(f->seq, last);
}

TEST_F(NodeStoreTest, ReconcileAddsPreExistingFiles) {
  write("dists/stable/InRelease", "release");
  write("pool/main/p.deb", "package");
  write(".depot/state.db", "private");
  write("_depot/v1/x", "shadowed");
  write("sub/.depot-cache/y", "private");
  fs::create_symlink(root_ / "pool/main/p.deb", root_ / "link.deb");
  ReconcileReport r;
  auto s = open(0, &r);
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.added, 2u);
  EXPECT_EQ(r.changed, 0u);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(r.skipped, 1u);  // the symlink
  EXPECT_EQ(r.hashed_bytes, 14u);
  auto page = s->changes(0, 10);
  ASSERT_EQ(page->changes.size(), 2u);
  for (const auto& c : page->changes) {
    if (c.path == "pool/main/p.deb") {
      EXPECT_EQ(c.sha256, sha256_hex("package"));
    }
  }
  EXPECT_EQ(s->status()->files, 2u);
  EXPECT_EQ(s->status()->used, 14u);
}

TEST_F(NodeStoreTest, ReconcileRecordsGoneAndChangedFiles) {
  {
    auto s = open();
    ASSERT_TRUE(put(*s, "gone", "1").ok());
    ASSERT_TRUE(put(*s, "changed", "22").ok());
    ASSERT_TRUE(put(*s, "same", "333").ok());
  }
  fs::remove(root_ / "gone");
  write("changed", "different");
  ReconcileReport r;
  auto s = open(0, &r);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(r.added, 0u);
  EXPECT_EQ(r.hashed_bytes, 9u);  // "same" is not hashed again
  auto found = s->lookup(rel("changed"));
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->sha256, sha256_hex("different"));
  auto page = s->changes(0, 10);
  ASSERT_EQ(page->changes.size(), 3u);
  EXPECT_EQ(page->changes[2].path, "gone");  // recorded after the walk
  EXPECT_TRUE(page->changes[2].deleted);
  EXPECT_EQ(s->status()->files, 2u);
  EXPECT_EQ(s->status()->used, 12u);

  ReconcileReport again;
  s.reset();
  s = open(0, &again);
  EXPECT_EQ(again.added + again.changed + again.removed + again.hashed_bytes, 0u);
}

TEST_F(NodeStoreTest, StartClearsTmpAndHoldsTheLock) {
  fs::create_directories(root_ / ".depot-node/tmp");
  write(".depot-node/tmp/123-0-half.part", "half a body");
  auto s = open();
  EXPECT_EQ(tmp_files(), 0u);
  NodeOptions o;
  o.root = root_;
  o.name = "n2";
  auto second = NodeStore::open(o, null_logger());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kRefused);
}

}  // namespace
}  // namespace depot
