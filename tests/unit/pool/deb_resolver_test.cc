#include "pool/deb_resolver.h"

#include <gtest/gtest.h>

#include "support/pool_packages.h"

namespace depot::pool {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

class ResolverTest : public ::testing::Test {
 protected:
  const StoredPackage* add(const std::string& name, const std::string& version,
                           const std::string& arch, const Fields& extra = {}) {
    auto sp = std::make_unique<StoredPackage>();
    sp->id = static_cast<int64_t>(owned_.size()) + 1;
    sp->package = depot::testing::deb_record(name, version, arch);
    sp->package.fields.insert(sp->package.fields.end(), extra.begin(), extra.end());
    owned_.push_back(std::move(sp));
    return owned_.back().get();
  }
  std::vector<const StoredPackage*> all() const {
    std::vector<const StoredPackage*> out;
    for (const auto& sp : owned_) out.push_back(sp.get());
    return out;
  }
  static std::vector<std::string> texts(const Result<std::vector<UnresolvedRelation>>& r) {
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& u : *r) out.push_back(u.to_string());
    }
    return out;
  }
  std::vector<std::unique_ptr<StoredPackage>> owned_;
};

TEST_F(ResolverTest, AlternativesVersionsProvidesAndQualifiers) {
  add("libc6", "2.36", "amd64", {{"Provides", "libc-any (= 2.36), mail-transport-agent"}});
  add("libc6", "2.40", "arm64");
  add("python3", "3.11", "all");
  Resolver r(all());
  auto rel = [](const std::string& text) { return parse_relations(text)->front(); };
  EXPECT_TRUE(r.satisfies(rel("libc6 (>= 2.30)"), "amd64"));
  EXPECT_FALSE(r.satisfies(rel("libc6 (>= 2.38)"), "amd64"));  // 2.40 is arm64
  EXPECT_TRUE(r.satisfies(rel("libc6:any (>= 2.38)"), "amd64"));
  EXPECT_TRUE(r.satisfies(rel("libc6:arm64"), "amd64"));
  EXPECT_TRUE(r.satisfies(rel("missing | python3:native"), "amd64"));
  EXPECT_TRUE(r.satisfies(rel("mail-transport-agent"), "amd64"));
  EXPECT_FALSE(r.satisfies(rel("mail-transport-agent (>= 1)"), "amd64"));  // unversioned Provides
  EXPECT_TRUE(r.satisfies(rel("libc-any (>= 2.30)"), "amd64"));
  EXPECT_FALSE(r.satisfies(rel("libc-any (>= 2.38)"), "amd64"));
  EXPECT_EQ(r.contexts(*owned_[2]), (std::vector<std::string>{"amd64", "arm64"}));
}

TEST_F(ResolverTest, UnresolvedListsEveryEntryForEveryArchitecture) {
  const StoredPackage* app =
      add("app", "1", "all",
          {{"Pre-Depends", "dpkg (>= 1.20)"}, {"Depends", "libc6, nothere (>= 2) | gone, tzdata"}});
  add("libc6", "2.36", "amd64");
  add("libc6", "2.36", "arm64");
  add("dpkg", "1.21", "amd64");
  Resolver contexts(all());
  std::vector<const StoredPackage*> base{owned_[1].get(), owned_[2].get(), owned_[3].get()};
  Resolver available(base);
  EXPECT_EQ(texts(unresolved_relations({app}, available, contexts)),
            (std::vector<std::string>{
                "app 1 (all) Pre-Depends 'dpkg (>= 1.20)' for arm64",
                "app 1 (all) Depends 'nothere (>= 2) | gone' for amd64",
                "app 1 (all) Depends 'nothere (>= 2) | gone' for arm64",
                "app 1 (all) Depends 'tzdata' for amd64",
                "app 1 (all) Depends 'tzdata' for arm64",
            }));
  const StoredPackage* broken = add("broken", "1", "amd64", {{"Depends", "a (>> )"}});
  auto r = unresolved_relations({broken}, available, contexts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_NE(r.error().message.find("broken 1 (amd64) Depends"), std::string::npos);
}

}  // namespace
}  // namespace depot::pool
