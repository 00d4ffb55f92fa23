#include "serve/cache_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<CacheStore> open_store(const fs::path& dir, uint64_t max_bytes = 0) {
  auto r = CacheStore::open({dir, max_bytes}, null_logger());
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

CachedMeta meta_for(std::string_view body) {
  CachedMeta m;
  m.size = body.size();
  m.sha256 = std::string(64, 'a');
  m.etag = "\"e1\"";
  m.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
  m.content_type = "application/octet-stream";
  m.fetched_at = 100;
  m.validated_at = 100;
  return m;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Stores `body` as `rel` through a partial, with `meta` (default: matching meta_for(body)).
Status put(CacheStore& store, std::string_view rel, std::string_view body,
           std::optional<CachedMeta> meta = std::nullopt) {
  auto p = store.create_partial();
  if (!p.ok()) return p.error();
  if (!write_all(p->fd.get(), body)) return make_error(ErrorCode::kIo, "write");
  return store.commit(std::move(p).value(), rel, meta ? *meta : meta_for(body));
}

// Reads files/<rel> the way the server does: openat beneath files_dir_fd().
std::string read_cached(const CacheStore& store, const std::string& rel) {
  int fd = ::openat(store.files_dir_fd(), rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "<missing>";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

size_t entries_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

void write_file(const fs::path& p, std::string_view data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

TEST(CacheStore, CommitLookupAndReadBeneath) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path() / "cache");
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->lookup("pool/main/a.deb"));
  ASSERT_TRUE(put(*store, "pool/main/a.deb", "hello").ok());
  auto m = store->lookup("pool/main/a.deb");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size, 5u);
  EXPECT_EQ(m->etag, "\"e1\"");
  EXPECT_EQ(m->content_type, "application/octet-stream");
  EXPECT_EQ(m->fetched_at, 100);
  EXPECT_EQ(read_cached(*store, "pool/main/a.deb"), "hello");
  EXPECT_EQ(store->total_bytes(), 5u);
  EXPECT_EQ(store->file_count(), 1u);
  EXPECT_EQ(entries_in(tmp.path() / "cache" / "partial"), 0u);
}

TEST(CacheStore, CommitReplacesExistingFile) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "dists/InRelease", "one").ok());
  int old_fd = ::openat(store->files_dir_fd(), "dists/InRelease", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);
  ASSERT_TRUE(put(*store, "dists/InRelease", "three!").ok());
  EXPECT_EQ(read_cached(*store, "dists/InRelease"), "three!");
  char buf[8] = {};
  EXPECT_EQ(::read(old_fd, buf, sizeof buf), 3);  // a reader keeps the old body
  ::close(old_fd);
  EXPECT_EQ(store->lookup("dists/InRelease")->size, 6u);
  EXPECT_EQ(store->total_bytes(), 6u);
  EXPECT_EQ(store->file_count(), 1u);
}

TEST(CacheStore, SizeMismatchIsRefusedAndDiscarded) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  CachedMeta m = meta_for("abcde");
  Status st = put(*store, "x", "abc", m);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInternal);
  EXPECT_FALSE(store->lookup("x"));
  EXPECT_FALSE(fs::exists(tmp.path() / "files" / "x"));
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);
}

TEST(CacheStore, HostileRelIsRefused) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path() / "cache");
  ASSERT_TRUE(store);
  for (const std::string& rel : std::vector<std::string>{"../escape", "/abs", "a//b", "a/./b", "a/../b", "", ".depot/x", "a\\b",
                          std::string("a\0b", 3), "a\nb"}) {
    Status st = put(*store, rel, "evil");
    ASSERT_FALSE(st.ok()) << rel;
    EXPECT_EQ(st.error().code, ErrorCode::kUnsafePath) << rel;
    EXPECT_EQ(store->remove(rel).error().code, ErrorCode::kUnsafePath) << rel;
    EXPECT_EQ(store->mark_validated(rel, "", "", 1).error().code, ErrorCode::kUnsafePath);
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "escape"));
  EXPECT_EQ(store->file_count(), 0u);
  EXPECT_EQ(entries_in(tmp.path() / "cache" / "partial"), 0u);

  // A symlink planted under files/ is never followed when creating parents.
  fs::create_directory(tmp.path() / "outside");
  fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "cache" / "files" / "evil");
  Status st = put(*store, "evil/x", "data");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_EQ(entries_in(tmp.path() / "outside"), 0u);
  EXPECT_EQ(entries_in(tmp.path() / "cache" / "partial"), 0u);
}

TEST(CacheStore, ParentThatIsAFileFailsAndKeepsOldState) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "a", "old").ok());
  Status st = put(*store, "a/b", "new");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_EQ(store->lookup("a")->size, 3u);
  EXPECT_EQ(read_cached(*store, "a"), "old");
  EXPECT_FALSE(store->lookup("a/b"));
  EXPECT_EQ(store->total_bytes(), 3u);
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);

  // The other way round: a file cannot replace a directory that holds cached files.
  ASSERT_TRUE(put(*store, "d/e", "inner").ok());
  EXPECT_FALSE(put(*store, "d", "file").ok());
  EXPECT_EQ(read_cached(*store, "d/e"), "inner");
  EXPECT_EQ(store->file_count(), 2u);
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);

  // An empty directory (left behind by a removal) gives way.
  ASSERT_TRUE(store->remove("d/e").ok());
  ASSERT_TRUE(put(*store, "d", "file").ok());
  EXPECT_EQ(read_cached(*store, "d"), "file");
}

TEST(CacheStore, LeastRecentlyUsedIsEvictedFirst) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 30);
  ASSERT_TRUE(store);
  const std::string ten(10, 'x');
  ASSERT_TRUE(put(*store, "a", ten).ok());
  ASSERT_TRUE(put(*store, "b", ten).ok());
  ASSERT_TRUE(put(*store, "c", ten).ok());
  EXPECT_EQ(store->evictions(), 0u);
  ASSERT_TRUE(store->lookup("a"));  // touching the oldest saves it
  ASSERT_TRUE(put(*store, "d", ten).ok());
  EXPECT_FALSE(store->lookup("b"));
  EXPECT_FALSE(fs::exists(tmp.path() / "files" / "b"));
  EXPECT_TRUE(store->lookup("a"));
  EXPECT_TRUE(store->lookup("c"));
  EXPECT_TRUE(store->lookup("d"));
  EXPECT_EQ(store->evictions(), 1u);
  EXPECT_EQ(store->total_bytes(), 30u);
  EXPECT_EQ(store->file_count(), 3u);
  EXPECT_EQ(store->max_bytes(), 30u);
  // Order now: a, c, d (oldest first). Two more evict a and c.
  ASSERT_TRUE(put(*store, "e", std::string(20, 'y')).ok());
  EXPECT_FALSE(store->lookup("a"));
  EXPECT_FALSE(store->lookup("c"));
  EXPECT_EQ(store->evictions(), 3u);
  EXPECT_EQ(store->total_bytes(), 30u);
}

TEST(CacheStore, PinnedEntrySurvivesEvictionThenGoesLater) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 20);
  ASSERT_TRUE(store);
  const std::string ten(10, 'x');
  ASSERT_TRUE(put(*store, "a", ten).ok());
  ASSERT_TRUE(put(*store, "b", ten).ok());
  {
    CacheStore::Pin p1 = store->pin("a");
    CacheStore::Pin p2 = store->pin("a");  // pins nest
    { CacheStore::Pin gone = std::move(p1); }
    ASSERT_TRUE(put(*store, "c", ten).ok());  // a is oldest but pinned: b goes
    EXPECT_TRUE(store->lookup("a"));
    EXPECT_FALSE(store->lookup("b"));
    EXPECT_EQ(store->evictions(), 1u);
    CacheStore::Pin p3;
    p3 = std::move(p2);
  }
  // Order: c, a (a was looked up last). Unpinned now, so the next commit may take the oldest.
  ASSERT_TRUE(put(*store, "d", ten).ok());
  EXPECT_FALSE(store->lookup("c"));
  ASSERT_TRUE(put(*store, "e", ten).ok());
  EXPECT_FALSE(store->lookup("a"));
  EXPECT_EQ(store->evictions(), 3u);
}

TEST(CacheStore, FileLargerThanCapStaysUntilUnpinnedAndRoomIsNeeded) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 10);
  ASSERT_TRUE(store);
  {
    CacheStore::Pin pin = store->pin("big");  // pinned before it exists, as a reader does
    ASSERT_TRUE(put(*store, "big", std::string(25, 'b')).ok());
    EXPECT_EQ(store->total_bytes(), 25u);
    ASSERT_TRUE(put(*store, "small1", "12345").ok());  // the new file is kept; big is pinned
    EXPECT_TRUE(store->lookup("big"));
    EXPECT_TRUE(store->lookup("small1"));
    EXPECT_EQ(store->evictions(), 0u);
  }
  ASSERT_TRUE(put(*store, "small2", "12345").ok());
  EXPECT_FALSE(store->lookup("big"));
  EXPECT_EQ(store->total_bytes(), 10u);
  EXPECT_EQ(store->evictions(), 1u);
  // Unpinned and alone: the oversized file stays until the next commit.
  ASSERT_TRUE(put(*store, "huge", std::string(40, 'h')).ok());
  EXPECT_TRUE(store->lookup("huge"));
  EXPECT_EQ(store->file_count(), 1u);
  ASSERT_TRUE(put(*store, "tiny", "1").ok());
  EXPECT_FALSE(store->lookup("huge"));
  EXPECT_EQ(store->total_bytes(), 1u);
}

TEST(CacheStore, RemoveWhilePinned) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 100);
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "idx/Packages", "body").ok());
  CacheStore::Pin pin = store->pin("idx/Packages");
  ASSERT_TRUE(store->remove("idx/Packages").ok());
  EXPECT_FALSE(store->lookup("idx/Packages"));
  EXPECT_FALSE(fs::exists(tmp.path() / "files" / "idx" / "Packages"));
  EXPECT_EQ(store->total_bytes(), 0u);
  EXPECT_EQ(store->file_count(), 0u);
  EXPECT_TRUE(store->remove("idx/Packages").ok());  // not cached: ok
  EXPECT_TRUE(store->remove("never/there").ok());
  ASSERT_TRUE(put(*store, "idx/Packages", "again").ok());  // still pinned by `pin`
  EXPECT_EQ(read_cached(*store, "idx/Packages"), "again");
}

TEST(CacheStore, MarkValidated) {
  testing::TempDir tmp;
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(put(*store, "a", "body").ok());
    ASSERT_TRUE(store->mark_validated("a", "\"e2\"", "", 200).ok());
    auto m = store->lookup("a");
    EXPECT_EQ(m->etag, "\"e2\"");
    EXPECT_EQ(m->last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");  // empty keeps the old one
    EXPECT_EQ(m->validated_at, 200);
    EXPECT_EQ(m->fetched_at, 100);
    Status st = store->mark_validated("missing", "x", "y", 1);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  }
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto m = store->lookup("a");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->etag, "\"e2\"");
  EXPECT_EQ(m->validated_at, 200);
  EXPECT_EQ(m->sha256, std::string(64, 'a'));
}

TEST(CacheStore, ReopenPersistsMetadataAndLruOrder) {
  testing::TempDir tmp;
  const std::string ten(10, 'x');
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(put(*store, "a", ten).ok());
    ASSERT_TRUE(put(*store, "b", ten).ok());
    ASSERT_TRUE(put(*store, "c", ten).ok());
    ASSERT_TRUE(store->lookup("a"));  // order: b, c, a
    ASSERT_TRUE(store->flush_access_times().ok());
    ASSERT_TRUE(store->flush_access_times().ok());  // nothing dirty: no-op
  }
  {
    auto store = open_store(tmp.path(), 20);  // the cap applies at open: the oldest goes
    ASSERT_TRUE(store);
    EXPECT_EQ(store->evictions(), 1u);
    EXPECT_EQ(store->file_count(), 2u);
    EXPECT_FALSE(store->lookup("b"));
    EXPECT_FALSE(fs::exists(tmp.path() / "files" / "b"));
    ASSERT_TRUE(store->lookup("c"));  // order: a, c; the destructor flushes
    auto m = store->lookup("a");  // order: c, a
    ASSERT_TRUE(m);
    EXPECT_EQ(m->etag, "\"e1\"");
    EXPECT_EQ(m->content_type, "application/octet-stream");
    EXPECT_EQ(m->size, 10u);
    ASSERT_TRUE(store->lookup("c"));  // order: a, c
  }
  auto store = open_store(tmp.path(), 10);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->lookup("a"));
  EXPECT_TRUE(store->lookup("c"));
  EXPECT_EQ(store->total_bytes(), 10u);
}

TEST(CacheStore, ReopenReconciles) {
  testing::TempDir tmp;
  const fs::path files = tmp.path() / "files";
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(put(*store, "keep/a", "keep").ok());
    ASSERT_TRUE(put(*store, "gone/b", "gone").ok());
    ASSERT_TRUE(put(*store, "resized", "four").ok());
    ASSERT_TRUE(put(*store, "typechanged", "dir!").ok());
  }
  fs::remove(files / "gone" / "b");
  write_file(files / "resized", "longer body");
  fs::remove(files / "typechanged");
  fs::create_directory(files / "typechanged");
  write_file(files / "stray.txt", "stray");
  write_file(files / "deep" / "er" / "stray2", "stray");
  write_file(tmp.path() / "outside" / "secret", "secret");
  fs::create_symlink(tmp.path() / "outside" / "secret", files / "link");
  fs::create_directory_symlink(tmp.path() / "outside", files / "deep" / "dirlink");
  write_file(tmp.path() / "partial" / "dl-leftover", "half");

  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->file_count(), 1u);
  EXPECT_EQ(store->total_bytes(), 4u);
  EXPECT_EQ(read_cached(*store, "keep/a"), "keep");
  EXPECT_FALSE(store->lookup("gone/b"));
  EXPECT_FALSE(store->lookup("resized"));
  EXPECT_FALSE(store->lookup("typechanged"));
  EXPECT_FALSE(fs::exists(files / "resized"));
  EXPECT_FALSE(fs::exists(files / "stray.txt"));
  EXPECT_FALSE(fs::exists(files / "deep" / "er" / "stray2"));
  EXPECT_TRUE(fs::is_directory(files / "deep" / "er"));  // empty directories are left
  EXPECT_FALSE(fs::exists(fs::symlink_status(files / "link")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(files / "deep" / "dirlink")));
  EXPECT_TRUE(fs::exists(tmp.path() / "outside" / "secret"));  // targets untouched
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);
  EXPECT_EQ(store->evictions(), 0u);
  store.reset();

  store = open_store(tmp.path());  // the dropped rows stay dropped
  ASSERT_TRUE(store);
  EXPECT_EQ(store->file_count(), 1u);
  ASSERT_TRUE(put(*store, "resized", "new").ok());
  EXPECT_EQ(store->lookup("resized")->size, 3u);
}

TEST(CacheStore, MaxBytesZeroIsUnlimited) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 0);
  ASSERT_TRUE(store);
  const std::string body(1000, 'z');
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(put(*store, "f/" + std::to_string(i), body).ok());
  EXPECT_EQ(store->file_count(), 50u);
  EXPECT_EQ(store->total_bytes(), 50000u);
  EXPECT_EQ(store->evictions(), 0u);
  EXPECT_EQ(store->max_bytes(), 0u);
}

TEST(CacheStore, TotalsAndDiscardedPartials) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "a", "123").ok());
  ASSERT_TRUE(put(*store, "b", "4567").ok());
  EXPECT_EQ(store->total_bytes(), 7u);
  EXPECT_EQ(store->file_count(), 2u);
  ASSERT_TRUE(store->remove("a").ok());
  EXPECT_EQ(store->total_bytes(), 4u);
  EXPECT_EQ(store->file_count(), 1u);
  auto p = store->create_partial();
  ASSERT_TRUE(p.ok());
  auto q = store->create_partial();
  ASSERT_TRUE(q.ok());
  EXPECT_NE(p->name, q->name);
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 2u);
  store->discard_partial(std::move(p).value());
  store->discard_partial(std::move(q).value());
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);
}

// Several threads look up, pin, commit, validate, remove and flush a small set of paths under
// a tight cap; each thread also keeps one pinned path of its own that must never be evicted.
// Afterwards the totals match the disk, and a reopen finds nothing to drop.
TEST(CacheStore, ConcurrentStress) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path(), 400);
  ASSERT_TRUE(store);
  constexpr int kThreads = 6;
  constexpr int kIterations = 1500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) + 1);
      const std::string own = "own/" + std::to_string(t);
      CacheStore::Pin own_pin = store->pin(own);
      if (!put(*store, own, std::string(8, 'o')).ok()) ++failures;
      for (int i = 0; i < kIterations; ++i) {
        const std::string rel = "d" + std::to_string(rng() % 4) + "/f" + std::to_string(rng() % 16);
        switch (rng() % 7) {
          case 0:
          case 1:
            if (auto m = store->lookup(rel); m && m->size == 0) ++failures;
            break;
          case 2: {
            CacheStore::Pin pin = store->pin(rel);
            if (!put(*store, rel, std::string(1 + rng() % 64, 'p')).ok()) ++failures;
            break;
          }
          case 3:
            if (!put(*store, rel, std::string(1 + rng() % 64, 'c')).ok()) ++failures;
            break;
          case 4:
            if (!store->remove(rel).ok()) ++failures;
            break;
          case 5: {
            Status st = store->mark_validated(rel, "\"v\"", "", i);
            if (!st.ok() && st.error().code != ErrorCode::kNotFound) ++failures;
            break;
          }
          default:
            if (!store->flush_access_times().ok()) ++failures;
            break;
        }
        if (!store->lookup(own)) ++failures;  // pinned: never evicted
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(store->evictions(), 0u);

  uint64_t disk_bytes = 0, disk_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp.path() / "files")) {
    if (!e.is_regular_file()) continue;
    ++disk_files;
    disk_bytes += e.file_size();
    const std::string rel = e.path().lexically_relative(tmp.path() / "files").generic_string();
    auto m = store->lookup(rel);
    ASSERT_TRUE(m) << rel;
    EXPECT_EQ(m->size, e.file_size()) << rel;
  }
  EXPECT_EQ(store->total_bytes(), disk_bytes);
  EXPECT_EQ(store->file_count(), disk_files);
  EXPECT_EQ(entries_in(tmp.path() / "partial"), 0u);
  const uint64_t count = store->file_count();
  const uint64_t bytes = store->total_bytes();
  store.reset();

  store = open_store(tmp.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->file_count(), count);
  EXPECT_EQ(store->total_bytes(), bytes);
}

}  // namespace
}  // namespace depot

namespace depot {
namespace {

TEST(CacheStore, FindPathsListsWhatTheFilterKeeps) {
  testing::TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "d/dists/s/main/binary-all/Packages", "p").ok());
  ASSERT_TRUE(put(*store, "d/pool/a.deb", "a").ok());
  auto found = store->find_paths([](std::string_view rel) { return rel.find("dists/") != rel.npos; });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, "d/dists/s/main/binary-all/Packages");
  EXPECT_EQ(found[0].second, store->lookup("d/dists/s/main/binary-all/Packages")->sha256);
}

}  // namespace
}  // namespace depot
