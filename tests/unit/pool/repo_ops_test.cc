#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "db/sqlite.h"
#include "pool/pool_store.h"
#include "support/pool_packages.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;
using Fields = std::vector<std::pair<std::string, std::string>>;

Digests digests_of(std::string_view data) { return depot::testing::all_digests(data); }

class RepoOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PoolStore::open(dir_.path() / "root", logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->create_repo("unstable").ok());
    ASSERT_TRUE(store_->create_repo("stable").ok());
  }
  // Imports a package whose file content is unique to name/version/arch; returns its id.
  int64_t add(const std::string& name, const std::string& version, const std::string& arch,
              const Fields& extra = {}) {
    Package p = depot::testing::deb_record(name, version, arch);
    p.fields.insert(p.fields.end(), extra.begin(), extra.end());
    std::string data = name + " " + version + " " + arch;
    p.file.size = data.size();
    p.file.digests = digests_of(data);
    std::ofstream(dir_.path() / p.file.filename) << data;
    auto id = store_->import(p, dir_.path() / p.file.filename);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    shas_[id.ok() ? *id : -1] = p.file.digests.sha256;
    return id.ok() ? *id : -1;
  }
  void put(const std::string& repo, std::vector<int64_t> ids) {
    Status st = store_->change_membership(repo, ids, {});
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }
  // "name version arch" of every package of a repository, in list() order.
  std::vector<std::string> contents(const std::string& repo) {
    auto l = store_->list(repo);
    EXPECT_TRUE(l.ok());
    std::vector<std::string> out;
    if (!l.ok()) return out;
    for (const auto& sp : *l) {
      out.push_back(sp.package.name + " " + sp.package.version + " " + sp.package.architecture);
    }
    return out;
  }
  static std::vector<std::string> names(const std::vector<PackageRef>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.name + " " + r.version + " " + r.architecture);
    return out;
  }
  db::Connection raw() {
    auto c = db::Connection::open(dir_.path() / "root" / "depot.db");
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  int64_t refcount(int64_t id) {
    auto c = raw();
    auto st = c.prepare("SELECT refcount FROM blobs WHERE sha256 = ?1");
    EXPECT_TRUE(st.ok());
    st->bind(1, shas_[id]);
    auto row = st->step();
    EXPECT_TRUE(row.ok() && *row);
    return st->column_int(0);
  }
  // Makes every insert of `package_id` into `table` fail, as a crash or a full disk would.
  void inject_failure(const std::string& table, int64_t package_id) {
    auto c = raw();
    ASSERT_TRUE(c.exec("CREATE TRIGGER inject BEFORE INSERT ON " + table +
                       " WHEN NEW.package_id = " + std::to_string(package_id) +
                       " BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
                    .ok());
  }
  void clear_failure() { ASSERT_TRUE(raw().exec("DROP TRIGGER inject").ok()); }
  bool refcounts_consistent() {
    auto r = store_->gc(true);
    return r.ok() && r->refcounts_repaired == 0;
  }

  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<PoolStore> store_;
  std::map<int64_t, std::string> shas_;
};

TEST_F(RepoOpsTest, SchemaIsMigratedToV4) { EXPECT_EQ(raw().schema_version(), 4); }

TEST_F(RepoOpsTest, PullReplacesOlderVersionsAndKeepsNewerOnes) {
  int64_t a1 = add("a", "1", "amd64"), e1 = add("e", "1.0", "amd64");
  put("unstable", {a1, add("a", "2", "amd64"), add("a", "3", "arm64"), add("b", "1", "all"),
                   add("c", "1", "amd64"), e1});
  // Every older dest version of a key goes; a newer one and the same version stay.
  put("stable", {add("a", "0.5", "amd64"), a1, add("c", "2", "amd64"), add("d", "1", "amd64"),
                 e1});
  auto r = store_->pull("stable", "unstable");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(names(r->added),
            (std::vector<std::string>{"a 2 amd64", "a 3 arm64", "b 1 all"}));
  EXPECT_EQ(names(r->removed), (std::vector<std::string>{"a 0.5 amd64", "a 1 amd64"}));
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 2 amd64", "a 3 arm64", "b 1 all",
                                                         "c 2 amd64", "d 1 amd64",
                                                         "e 1.0 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
  auto again = store_->pull("stable", "unstable");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(store_->pull("nope", "unstable").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->pull("stable", "nope").error().code, ErrorCode::kNotFound);
}

TEST_F(RepoOpsTest, PullFailingMidwayLeavesDestUntouched) {
  int64_t a2 = add("a", "2", "amd64"), b1 = add("b", "1", "amd64");
  int64_t a1 = add("a", "1", "amd64");
  put("unstable", {a2, b1});
  put("stable", {a1});
  inject_failure("repo_packages", b1);  // after a1's removal and a2's insertion
  auto r = store_->pull("stable", "unstable");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("injected failure"), std::string::npos);
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 1 amd64"}));
  EXPECT_EQ(refcount(a1), 1);
  EXPECT_EQ(refcount(a2), 1);
  EXPECT_TRUE(refcounts_consistent());
  clear_failure();
  ASSERT_TRUE(store_->pull("stable", "unstable").ok());
  EXPECT_EQ(refcount(a1), 0);
  EXPECT_EQ(refcount(a2), 2);
}

TEST_F(RepoOpsTest, PromoteResolvesTheClosureInsideTheSource) {
  put("unstable",
      {add("app", "1.0", "amd64",
           {{"Pre-Depends", "base (>= 2)"},
            {"Depends", "libfoo (>= 1.5) | libbar, mta, python3:any, tool:native, "
                        "feature (>= 2)"}}),
       add("base", "1", "amd64"), add("base", "2", "amd64"), add("base", "3", "amd64"),
       add("libfoo", "1.0", "amd64"),                                  // too old
       add("libbar", "1", "amd64", {{"Depends", "libc (<< 3)"}}),      // second alternative
       add("libc", "2", "amd64"), add("libc", "4", "amd64"),           // newest below 3
       add("postfix", "1", "amd64", {{"Provides", "mta, feature (= 2.5)"}}),
       add("python3", "3.11", "arm64"),                                // :any: other arch
       add("tool", "1", "all"), add("unrelated", "1", "amd64")});
  // Dest holds an older base (replaced) and a newer tool (kept).
  put("stable", {add("base", "0.9", "amd64"), add("tool", "2", "all")});

  auto r = store_->promote("stable", "unstable", {"app"}, true);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(names(r->added),
            (std::vector<std::string>{"app 1.0 amd64", "base 3 amd64", "libbar 1 amd64",
                                      "libc 2 amd64", "postfix 1 amd64", "python3 3.11 arm64"}));
  EXPECT_EQ(names(r->removed), (std::vector<std::string>{"base 0.9 amd64"}));
  EXPECT_EQ(contents("stable"),
            (std::vector<std::string>{"app 1.0 amd64", "base 3 amd64", "libbar 1 amd64",
                                      "libc 2 amd64", "postfix 1 amd64", "python3 3.11 arm64",
                                      "tool 2 all"}));
  // Without dependencies: the named package alone.
  auto plain = store_->promote("stable", "unstable", {"unrelated"}, false);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(names(plain->added), (std::vector<std::string>{"unrelated 1 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
}

TEST_F(RepoOpsTest, PromoteRefusesWhatNeitherSideSatisfiesAndChangesNothing) {
  int64_t app = add("app", "1", "amd64", {{"Depends", "libc (>= 2), missing (>= 1) | gone"}});
  put("unstable", {app, add("libc", "2", "amd64")});
  int64_t old_missing = add("missing", "0.5", "amd64");
  put("stable", {old_missing});
  auto r = store_->promote("stable", "unstable", {"app"}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find("app 1 (amd64)"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("missing (>= 1) | gone"), std::string::npos);
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"missing 0.5 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
  // Satisfied by dest: accepted.
  ASSERT_TRUE(store_->change_membership("stable", {add("gone", "1", "all")}, {}).ok());
  auto ok = store_->promote("stable", "unstable", {"app"}, true);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(names(ok->added), (std::vector<std::string>{"app 1 amd64", "libc 2 amd64"}));
  EXPECT_EQ(store_->promote("stable", "unstable", {"nothing"}, true).error().code,
            ErrorCode::kNotFound);
}

TEST_F(RepoOpsTest, PromoteRefusesWhenDestKeepsAVersionThatBreaksTheRelation) {
  put("unstable", {add("app", "1", "amd64", {{"Depends", "libc (<< 3)"}}),
                   add("libc", "2", "amd64")});
  put("stable", {add("libc", "4", "amd64")});
  auto r = store_->promote("stable", "unstable", {"app"}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find("libc (<< 3)"), std::string::npos);
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"libc 4 amd64"}));
}

TEST_F(RepoOpsTest, PromoteOfArchAllResolvesForEverySourceArchitecture) {
  put("unstable", {add("doc", "1", "all", {{"Depends", "viewer"}}), add("viewer", "1", "amd64"),
                   add("viewer", "1", "arm64"), add("x", "1", "arm64")});
  auto r = store_->promote("stable", "unstable", {"doc"}, true);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(names(r->added),
            (std::vector<std::string>{"doc 1 all", "viewer 1 amd64", "viewer 1 arm64"}));
}

TEST_F(RepoOpsTest, PromoteFailingMidwayChangesNothing) {
  int64_t lib = add("lib", "1", "amd64");
  put("unstable", {add("app", "2", "amd64", {{"Depends", "lib"}}), lib});
  put("stable", {add("app", "1", "amd64")});
  inject_failure("repo_packages", lib);
  ASSERT_FALSE(store_->promote("stable", "unstable", {"app"}, true).ok());
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"app 1 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
}

// A base distribution's package (as BaseIndexCache gives them: negative ids, no file).
StoredPackage base_pkg(int64_t id, const std::string& name, const std::string& version,
                       const std::string& arch, const Fields& extra = {}) {
  StoredPackage sp{id, depot::testing::deb_record(name, version, arch)};
  sp.package.fields = extra;
  return sp;
}

TEST_F(RepoOpsTest, PromoteResolvesAgainstTheBaseWithoutMovingIt) {
  put("unstable", {add("app", "1", "amd64",
                       {{"Depends", "libc6 (>= 2.36), mta, lib | other"}}),
                   add("lib", "1", "amd64", {{"Pre-Depends", "dpkg (>= 1.20)"}})});
  std::vector<StoredPackage> base{base_pkg(-1, "libc6", "2.36-9", "amd64"),
                                  base_pkg(-2, "exim4", "4.96", "amd64", {{"Provides", "mta"}}),
                                  base_pkg(-3, "dpkg", "1.21.22", "amd64")};
  PromoteOptions o;
  o.with_deps = true;
  auto refused = store_->promote("stable", "unstable", {"app"}, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kRefused);
  // Every unresolved relation is listed, not just the first.
  for (const char* want : {"app 1 (amd64) Depends 'libc6 (>= 2.36)' for amd64",
                           "app 1 (amd64) Depends 'mta' for amd64",
                           "lib 1 (amd64) Pre-Depends 'dpkg (>= 1.20)' for amd64"}) {
    EXPECT_NE(refused.error().message.find(want), std::string::npos) << refused.error().message;
  }
  EXPECT_TRUE(contents("stable").empty());

  for (const StoredPackage& sp : base) o.base.push_back(&sp);
  auto r = store_->promote("stable", "unstable", {"app"}, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(names(r->added), (std::vector<std::string>{"app 1 amd64", "lib 1 amd64"}));
  EXPECT_TRUE(r->unresolved.empty());
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"app 1 amd64", "lib 1 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
}

TEST_F(RepoOpsTest, PromoteWithAllowUnresolvedReportsThemAsWarnings) {
  put("unstable", {add("app", "1", "amd64", {{"Depends", "nowhere (>= 2), libc6"}})});
  std::vector<StoredPackage> base{base_pkg(-1, "libc6", "2.36", "amd64")};
  PromoteOptions o;
  o.with_deps = o.allow_unresolved = true;
  o.base = {&base[0]};
  auto r = store_->promote("stable", "unstable", {"app"}, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->unresolved.size(), 1u);
  EXPECT_EQ(r->unresolved[0].to_string(), "app 1 (amd64) Depends 'nowhere (>= 2)' for amd64");
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"app 1 amd64"}));
}

TEST_F(RepoOpsTest, DryRunReportsAddReplaceRemoveAndChangesNothing) {
  int64_t a1 = add("a", "1", "amd64");
  put("unstable", {add("a", "2", "amd64"), add("b", "1", "all"),
                   add("app", "3", "amd64", {{"Depends", "dep"}}), add("dep", "1", "amd64")});
  put("stable", {a1, add("a", "0.5", "amd64"), add("app", "2", "amd64")});
  const auto before = contents("stable");
  auto version_of = [&] {
    auto c = raw();
    auto st = c.prepare("SELECT COUNT(*), COALESCE(SUM(refcount), 0) FROM blobs");
    EXPECT_TRUE(st.ok() && *st->step());
    return std::pair{st->column_int(0), st->column_int(1)};
  };
  const auto refs_before = version_of();

  auto pull = store_->pull("stable", "unstable", true);
  ASSERT_TRUE(pull.ok()) << pull.error().to_string();
  EXPECT_EQ(names(pull->added), (std::vector<std::string>{"a 2 amd64", "app 3 amd64", "b 1 all",
                                                          "dep 1 amd64"}));
  EXPECT_EQ(names(pull->removed),
            (std::vector<std::string>{"a 0.5 amd64", "a 1 amd64", "app 2 amd64"}));
  std::vector<std::string> replaced;
  for (const Replacement& r : pull->replaced) {
    replaced.push_back(r.from.name + " " + r.from.version + " -> " + r.to.version);
  }
  EXPECT_EQ(replaced, (std::vector<std::string>{"a 0.5 -> 2", "a 1 -> 2", "app 2 -> 3"}));
  EXPECT_EQ(contents("stable"), before);

  PromoteOptions o;
  o.with_deps = o.dry_run = true;
  auto promote = store_->promote("stable", "unstable", {"app"}, o);
  ASSERT_TRUE(promote.ok()) << promote.error().to_string();
  EXPECT_EQ(names(promote->added), (std::vector<std::string>{"app 3 amd64", "dep 1 amd64"}));
  EXPECT_EQ(names(promote->removed), (std::vector<std::string>{"app 2 amd64"}));
  EXPECT_EQ(contents("stable"), before);
  EXPECT_EQ(version_of(), refs_before);
  EXPECT_TRUE(refcounts_consistent());

  // A dry run that would be refused is refused the same way.
  put("unstable", {add("app", "4", "amd64", {{"Depends", "nowhere"}})});
  auto bad = store_->promote("stable", "unstable", {"app"}, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'nowhere'"), std::string::npos) << bad.error().message;
  // And the real thing still works afterwards (the dry runs left no transaction open).
  ASSERT_TRUE(store_->pull("stable", "unstable").ok());
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 2 amd64", "app 4 amd64",
                                                         "b 1 all", "dep 1 amd64"}));
}

TEST_F(RepoOpsTest, SnapshotRollbackAndGcKeepSnapshotOnlyFiles) {
  int64_t a1 = add("a", "1", "amd64"), b1 = add("b", "1", "all");
  put("stable", {a1, b1});
  auto named = store_->snapshot("stable", "stable-before");
  ASSERT_TRUE(named.ok()) << named.error().to_string();
  EXPECT_EQ(*named, "stable-before");
  auto autoname = store_->snapshot("stable");
  auto autoname2 = store_->snapshot("stable");
  ASSERT_TRUE(autoname.ok() && autoname2.ok());
  std::regex pattern("stable-[0-9]{8}-[0-9]{6}(-[0-9]+)?");
  EXPECT_TRUE(std::regex_match(*autoname, pattern)) << *autoname;
  EXPECT_TRUE(std::regex_match(*autoname2, pattern)) << *autoname2;
  EXPECT_NE(*autoname, *autoname2);
  EXPECT_EQ(store_->snapshot("stable", "stable-before").error().code, ErrorCode::kRefused);
  EXPECT_EQ(store_->snapshot("stable", "Bad Name").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->snapshot("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(refcount(a1), 4);  // the repository and three snapshots
  ASSERT_TRUE(store_->drop_snapshot(*autoname).ok());
  ASSERT_TRUE(store_->drop_snapshot(*autoname2).ok());
  EXPECT_EQ(store_->drop_snapshot(*autoname).error().code, ErrorCode::kNotFound);
  auto list = store_->snapshots("stable");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "stable-before");
  EXPECT_EQ((*list)[0].packages, 2u);
  EXPECT_GT((*list)[0].created_at, 0);

  // a 1 leaves the repository: its file stays, the snapshot names it.
  int64_t a2 = add("a", "2", "amd64");
  put("unstable", {a2});
  ASSERT_TRUE(store_->pull("stable", "unstable").ok());
  ASSERT_TRUE(store_->change_membership("unstable", {}, {a2}).ok());
  auto gc = store_->gc();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 0u);
  EXPECT_TRUE(fs::exists(store_->blob_path(shas_[a1])));
  EXPECT_EQ(store_->snapshot_list("stable-before")->size(), 2u);

  auto rb = store_->rollback("stable", "stable-before");
  ASSERT_TRUE(rb.ok()) << rb.error().to_string();
  EXPECT_EQ(names(rb->added), (std::vector<std::string>{"a 1 amd64"}));
  EXPECT_EQ(names(rb->removed), (std::vector<std::string>{"a 2 amd64"}));
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 1 amd64", "b 1 all"}));
  gc = store_->gc();  // a 2 is now named by nothing
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_FALSE(fs::exists(store_->blob_path(shas_[a2])));
  EXPECT_EQ(store_->rollback("unstable", "stable-before").error().code, ErrorCode::kRefused);
  EXPECT_EQ(store_->rollback("stable", "nope").error().code, ErrorCode::kNotFound);

  // Only the snapshot holds b 1 and a 1: dropping it lets gc remove their files.
  ASSERT_TRUE(store_->change_membership("stable", {}, {a1, b1}).ok());
  EXPECT_EQ(store_->gc()->blobs_removed, 0u);
  EXPECT_TRUE(fs::exists(store_->blob_path(shas_[b1])));
  ASSERT_TRUE(store_->drop_snapshot("stable-before").ok());
  EXPECT_TRUE(refcounts_consistent());
  gc = store_->gc();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 2u);
  EXPECT_FALSE(fs::exists(store_->blob_path(shas_[b1])));
  EXPECT_TRUE(store_->gc()->clean());
}

TEST_F(RepoOpsTest, GcRepairsRefcountDriftCountingSnapshots) {
  int64_t a1 = add("a", "1", "amd64"), b1 = add("b", "1", "amd64");
  put("stable", {a1, b1});
  ASSERT_TRUE(store_->snapshot("stable", "s1").ok());
  ASSERT_TRUE(store_->change_membership("stable", {}, {a1}).ok());
  EXPECT_EQ(refcount(a1), 1);
  EXPECT_EQ(refcount(b1), 2);
  ASSERT_TRUE(raw().exec("UPDATE blobs SET refcount = 0").ok());
  auto dry = store_->gc(true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->refcounts_repaired, 2u);
  EXPECT_EQ(dry->blobs_removed, 0u);  // the snapshot still names a 1
  auto fixed = store_->gc();
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->refcounts_repaired, 2u);
  EXPECT_EQ(fixed->blobs_removed, 0u);
  EXPECT_EQ(refcount(a1), 1);
  EXPECT_EQ(refcount(b1), 2);
  EXPECT_TRUE(fs::exists(store_->blob_path(shas_[a1])));
  EXPECT_TRUE(store_->gc()->clean());
}

TEST_F(RepoOpsTest, SnapshotAndRollbackFailingMidwayChangeNothing) {
  int64_t a1 = add("a", "1", "amd64"), b1 = add("b", "1", "amd64");
  put("stable", {a1, b1});
  inject_failure("snapshot_packages", b1);
  ASSERT_FALSE(store_->snapshot("stable", "s1").ok());
  EXPECT_TRUE(store_->snapshots("stable")->empty());
  EXPECT_EQ(refcount(b1), 1);
  clear_failure();
  ASSERT_TRUE(store_->snapshot("stable", "s1").ok());
  int64_t a2 = add("a", "2", "amd64");
  ASSERT_TRUE(store_->change_membership("stable", {a2}, {a1, b1}).ok());
  inject_failure("repo_packages", b1);  // a 1 is restored first, then b 1 fails
  ASSERT_FALSE(store_->rollback("stable", "s1").ok());
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 2 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
  clear_failure();
  ASSERT_TRUE(store_->rollback("stable", "s1").ok());
  EXPECT_EQ(contents("stable"), (std::vector<std::string>{"a 1 amd64", "b 1 amd64"}));
  EXPECT_TRUE(refcounts_consistent());
}

}  // namespace
}  // namespace depot::pool
