#include "pool/pool_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "db/sqlite.h"
#include "support/pool_packages.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;

Digests digests_of(std::string_view data) { return depot::testing::all_digests(data); }

class PoolStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    store_.reset();
    auto s = PoolStore::open(dir_.path() / "root", logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(*s);
  }
  // Writes a package file with `data` and returns its metadata.
  Package make(const std::string& name, const std::string& version, const std::string& data,
               const std::string& arch = "amd64") {
    Package p = depot::testing::deb_record(name, version, arch);
    p.fields.emplace_back("Description", "x\n more");
    p.file.size = data.size();
    p.file.digests = digests_of(data);
    std::ofstream(dir_.path() / p.file.filename) << data;
    return p;
  }
  int64_t import(const Package& p) {
    auto id = store_->import(p, dir_.path() / p.file.filename);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    return id.ok() ? *id : -1;
  }
  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<PoolStore> store_;
};

TEST_F(PoolStoreTest, ImportStoresOneVerifiedReadOnlyCopy) {
  Package a = make("jq", "1.6-2", "deb bytes");
  int64_t id = import(a);
  fs::path blob = store_->blob_path(a.file.digests.sha256);
  std::ifstream in(blob);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "deb bytes");
  struct stat st {};
  ASSERT_EQ(::stat(blob.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);
  auto back = store_->get(id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->package.name, "jq");
  EXPECT_EQ(back->package.fields, a.fields);
  EXPECT_EQ(back->package.file.digests, a.file.digests);
  EXPECT_EQ(import(a), id);  // again: the same id, nothing copied
}

TEST_F(PoolStoreTest, SameNameVersionWithOtherContentIsRefused) {
  import(make("jq", "1.6-2", "one"));
  Package other = make("jq", "1.6-2", "two!");
  auto r = store_->import(other, dir_.path() / other.file.filename);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find(other.file.digests.sha256), std::string::npos);
}

TEST_F(PoolStoreTest, FileThatDiffersFromItsMetadataIsNotStored) {
  Package p = make("jq", "1.6-2", "declared");
  std::ofstream(dir_.path() / p.file.filename) << "tampered";
  auto r = store_->import(p, dir_.path() / p.file.filename);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(store_->blob_path(p.file.digests.sha256)));
  auto report = store_->gc(true);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean());
}

TEST_F(PoolStoreTest, SharedContentIsStoredOnceAndCountedPerMembership) {
  ASSERT_TRUE(store_->create_repo("unstable").ok());
  ASSERT_TRUE(store_->create_repo("stable").ok());
  EXPECT_FALSE(store_->create_repo("stable").ok());
  EXPECT_FALSE(store_->create_repo("Bad Name").ok());
  Package a = make("a", "1", "same bytes", "all");
  Package b = make("b", "1", "same bytes", "all");  // another package, same content
  int64_t ia = import(a), ib = import(b);
  ASSERT_TRUE(store_->change_membership("unstable", {ia, ib}, {}).ok());
  ASSERT_TRUE(store_->change_membership("stable", {ia}, {}).ok());
  auto list = store_->list("unstable");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].package.name, "a");
  // Dropping from one repository keeps the file for the other.
  ASSERT_TRUE(store_->change_membership("unstable", {}, {ia, ib}).ok());
  auto report = store_->gc();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 0u);
  EXPECT_TRUE(fs::exists(store_->blob_path(a.file.digests.sha256)));
  ASSERT_TRUE(store_->change_membership("stable", {}, {ia}).ok());
  report = store_->gc();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_removed, 1u);
  EXPECT_EQ(report->packages_removed, 2u);
  EXPECT_FALSE(fs::exists(store_->blob_path(a.file.digests.sha256)));
  EXPECT_TRUE(store_->gc()->clean());
}

TEST_F(PoolStoreTest, FailedMembershipChangeChangesNothing) {
  ASSERT_TRUE(store_->create_repo("r").ok());
  int64_t id = import(make("a", "1", "x"));
  Status st = store_->change_membership("r", {id, 9999}, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->list("r")->empty());
  EXPECT_TRUE(store_->gc(true)->refcounts_repaired == 0);
  EXPECT_EQ(store_->change_membership("nope", {id}, {}).error().code, ErrorCode::kNotFound);
}

TEST_F(PoolStoreTest, GcRepairsWhatACrashLeaves) {
  ASSERT_TRUE(store_->create_repo("r").ok());
  Package kept = make("kept", "1", "kept bytes");
  int64_t id = import(kept);
  ASSERT_TRUE(store_->change_membership("r", {id}, {}).ok());
  // A crash between copy and commit: a file in the pool without a row, and a temporary.
  fs::path stray = store_->blob_path(std::string(64, 'e'));
  fs::create_directories(stray.parent_path());
  std::ofstream(stray) << "orphan";
  std::ofstream(dir_.path() / "root" / "pool" / ".tmp" / "partial") << "half";
  reopen();
  auto dry = store_->gc(true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->strays_removed, 2u);
  EXPECT_TRUE(fs::exists(stray));
  auto report = store_->gc();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->strays_removed, 2u);
  EXPECT_FALSE(fs::exists(stray));
  EXPECT_TRUE(fs::exists(store_->blob_path(kept.file.digests.sha256)));
  EXPECT_TRUE(store_->gc()->clean());
  // Refcounts that drifted (a crash between two writers, a hand edit) are recomputed.
  {
    auto conn = db::Connection::open(dir_.path() / "root" / "depot.db");
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->exec("UPDATE blobs SET refcount = 7").ok());
  }
  auto drift = store_->gc();
  ASSERT_TRUE(drift.ok());
  EXPECT_EQ(drift->refcounts_repaired, 1u);
  EXPECT_EQ(drift->blobs_removed, 0u);
  EXPECT_TRUE(store_->gc()->clean());
  // A row whose file vanished is reported, not hidden.
  fs::remove(store_->blob_path(kept.file.digests.sha256));
  auto missing = store_->gc(true);
  ASSERT_TRUE(missing.ok());
  ASSERT_EQ(missing->missing.size(), 1u);
  EXPECT_EQ(missing->missing[0], kept.file.digests.sha256);
}

TEST_F(PoolStoreTest, ImportManyStoresABatchWithOneSyncAndOneTransaction) {
  Package known = make("jq", "1", "jq bytes");
  int64_t known_id = import(known);
  Package a = make("a", "1", "a bytes"), b = make("b", "2", "b bytes");
  Package b_again = b;  // the same package twice in one batch
  std::vector<PoolStore::ImportItem> items = {{&a, dir_.path() / a.file.filename},
                                              {&known, dir_.path() / known.file.filename},
                                              {&b, dir_.path() / b.file.filename},
                                              {&b_again, dir_.path() / b.file.filename}};
  auto ids = store_->import_many(items);
  ASSERT_TRUE(ids.ok()) << ids.error().to_string();
  ASSERT_EQ(ids->size(), 4u);
  EXPECT_EQ((*ids)[1], known_id);
  EXPECT_EQ((*ids)[2], (*ids)[3]);
  for (int64_t id : *ids) {
    auto sp = store_->get(id);
    ASSERT_TRUE(sp.ok());
    EXPECT_TRUE(fs::exists(store_->blob_path(sp->package.file.digests.sha256)));
  }
  EXPECT_EQ(store_->get((*ids)[0])->package.fields, a.fields);
  auto gc = store_->gc(true);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->strays_removed, 0u);
}

TEST_F(PoolStoreTest, ImportManyRefusesConflictsBeforeCopyingAnything) {
  import(make("jq", "1", "jq bytes"));
  Package fresh = make("fresh", "1", "fresh bytes");
  Package other = make("jq", "1", "other jq bytes");  // the same package, other content
  std::vector<PoolStore::ImportItem> items = {{&fresh, dir_.path() / fresh.file.filename},
                                              {&other, dir_.path() / "jq_1_amd64.deb"}};
  auto r = store_->import_many(items);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_FALSE(fs::exists(store_->blob_path(fresh.file.digests.sha256)));
  // Two different contents for one package within the batch are refused too.
  Package x1 = make("x", "1", "x one");
  Package x2 = x1;
  x2.file.digests = digests_of("x two");
  std::vector<PoolStore::ImportItem> twice = {{&x1, dir_.path() / x1.file.filename},
                                              {&x2, dir_.path() / x1.file.filename}};
  r = store_->import_many(twice);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_FALSE(fs::exists(store_->blob_path(x1.file.digests.sha256)));
}

TEST_F(PoolStoreTest, ImportManyWithABadFileRecordsNothing) {
  Package good = make("good", "1", "good bytes");
  Package bad = make("bad", "1", "bad bytes");
  bad.file.digests = digests_of("what the index promised");
  std::vector<PoolStore::ImportItem> items = {{&good, dir_.path() / good.file.filename},
                                              {&bad, dir_.path() / bad.file.filename}};
  auto r = store_->import_many(items);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(bad.file.filename), std::string::npos) << r.error().message;
  auto rows = db::Connection::open(dir_.path() / "root" / "depot.db");
  ASSERT_TRUE(rows.ok());
  auto st = rows->prepare("SELECT count(*) FROM packages");
  ASSERT_TRUE(st.ok() && *st->step());
  EXPECT_EQ(st->column_int(0), 0);
  // The copy that was made is a stray gc removes.
  auto gc = store_->gc();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->strays_removed, 1u);
  EXPECT_FALSE(fs::exists(store_->blob_path(good.file.digests.sha256)));
}

TEST_F(PoolStoreTest, FieldsStoredAsJsonBeforeV3AreConvertedAtOpen) {
  Package a = make("jq", "1.6-2", "deb bytes");
  a.fields.emplace_back("Conffiles", "\n /etc/jq 0123");
  int64_t id = import(a);
  ASSERT_TRUE(store_->create_repo("r").ok());
  ASSERT_TRUE(store_->change_membership("r", {id}, {}).ok());
  store_.reset();
  {  // the row as schema v2 wrote it
    auto c = db::Connection::open(dir_.path() / "root" / "depot.db");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->exec("UPDATE packages SET paragraph = NULL, fields = "
                        "'[[\"Package\",\"jq\"],[\"Version\",\"1.6-2\"],"
                        "[\"Architecture\",\"amd64\"],[\"Description\",\"x\\n more\"],"
                        "[\"Conffiles\",\"\\n /etc/jq 0123\"]]'")
                    .ok());
  }
  reopen();
  auto back = store_->get(id);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->package.fields, a.fields);
  auto texts = store_->list_texts("r");
  ASSERT_TRUE(texts.ok());
  ASSERT_EQ(texts->size(), 1u);
  EXPECT_EQ((*texts)[0].paragraph,
            "Package: jq\nVersion: 1.6-2\nArchitecture: amd64\nDescription: x\n more\n"
            "Conffiles:\n /etc/jq 0123\n");
  EXPECT_EQ((*texts)[0].file.digests, a.file.digests);
  auto c = db::Connection::open(dir_.path() / "root" / "depot.db");
  ASSERT_TRUE(c.ok());
  auto st = c->prepare("SELECT count(*) FROM packages WHERE fields != '' OR paragraph IS NULL");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->step());
  EXPECT_EQ(st->column_int(0), 0);
}

TEST_F(PoolStoreTest, AnUnreadableOldRowIsReportedWhenReadNotAtOpen) {
  int64_t id = import(make("jq", "1.6-2", "deb bytes"));
  int64_t other = import(make("yq", "1", "yq bytes"));
  store_.reset();
  {
    auto c = db::Connection::open(dir_.path() / "root" / "depot.db");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->exec("UPDATE packages SET paragraph = NULL, fields = '[[\"Package\"' WHERE id = " +
                        std::to_string(id))
                    .ok());
  }
  reopen();  // the daemon still starts
  auto bad = store_->get(id);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  EXPECT_NE(bad.error().message.find("package " + std::to_string(id)), std::string::npos);
  EXPECT_TRUE(store_->get(other).ok());
}

}  // namespace
}  // namespace depot::pool
