#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "sources/npm/cache_rules.h"
#include "sources/npm/packument.h"

namespace depot::npm {
namespace {

using Json = nlohmann::json;

// sha512 and sha1 of "abc".
constexpr const char* kSri =
    "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/"
    "uu9RU1EI2Q86A4qmslPpUyknw==";
constexpr const char* kSha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";

// The packument of `name` with versions 1.0.0 (its tarball on `host`) and 1.1.0 (shasum only).
std::string packument(const std::string& name, const std::string& host = "https://up.example") {
  std::string base = name.substr(name.find('/') + 1);
  Json doc = {{"_id", name}, {"name", name}, {"dist-tags", {{"latest", "1.1.0"}}}};
  doc["versions"]["1.0.0"] = {
      {"name", name},
      {"version", "1.0.0"},
      {"readme", "long"},
      {"dist",
       {{"tarball", host + "/" + name + "/-/" + base + "-1.0.0.tgz"}, {"integrity", kSri}}}};
  doc["versions"]["1.1.0"] = {
      {"name", name},
      {"version", "1.1.0"},
      {"dependencies", {{"@s/dep", "^1"}}},
      {"dist", {{"tarball", host + "/" + base + "-1.1.0.tgz"}, {"shasum", kSha1}}}};
  return doc.dump();
}

TEST(NpmCacheRules, PackumentRequestsAreRoutedToTheirFullDocument) {
  auto plain = cache_route("left-pad");
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_EQ((*plain)->file, "left-pad/index.json");
  EXPECT_EQ((*plain)->url_path, "left-pad");
  EXPECT_EQ((*plain)->accept, "application/json");
  auto scoped = cache_route("@s/dep");
  ASSERT_TRUE(scoped.ok() && scoped->has_value());
  EXPECT_EQ((*scoped)->file, "@s/dep/index.json");
  EXPECT_EQ((*scoped)->url_path, "@s%2fdep");
  EXPECT_TRUE(is_cache_document("left-pad/index.json"));
  EXPECT_TRUE(is_cache_document("@s/dep/index.json"));
  EXPECT_FALSE(is_cache_document("left-pad/-/left-pad-1.0.0.tgz"));
}

TEST(NpmCacheRules, TarballsAreFilesAndEverythingElseIsRefused) {
  for (const char* tgz : {"a/-/a-1.0.0.tgz", "@s/dep/-/dep-1.0.0.tgz"}) {
    auto r = cache_route(tgz);
    ASSERT_TRUE(r.ok()) << tgz;
    EXPECT_FALSE(r->has_value()) << tgz;
  }
  for (const char* bad :
       {"", "a/index.json", "@s", "@s/n/index.json", "a/-/x.tar", "a/-/.x.tgz", "a/b",
        "-/v1/search", "a/-/b/c.tgz", "@s/n/-/", ".depot/x", "a b", "@s/n/x/-/n-1.tgz"}) {
    auto r = cache_route(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << bad;
    }
  }
}

TEST(NpmCacheRules, TarballsPointAtTheCacheInTheFormTheClientAsks) {
  std::string body = packument("@s/b");
  auto full = rewrite_packument("@s/b/index.json", body, "http://h:1/npm", "application/json");
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full->content_type, "application/json");
  Json f = Json::parse(full->body);
  EXPECT_EQ(f["versions"]["1.0.0"]["dist"]["tarball"], "http://h:1/npm/@s/b/-/b-1.0.0.tgz");
  EXPECT_EQ(f["versions"]["1.1.0"]["dist"]["tarball"], "http://h:1/npm/@s/b/-/b-1.1.0.tgz");
  EXPECT_EQ(f["versions"]["1.0.0"]["readme"], "long");

  auto abbrev =
      rewrite_packument("@s/b/index.json", body, "http://h:1/npm",
                        "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*");
  ASSERT_TRUE(abbrev.ok()) << abbrev.error().message;
  EXPECT_EQ(abbrev->content_type, kAbbreviatedType);
  Json a = Json::parse(abbrev->body);
  EXPECT_EQ(a["versions"]["1.1.0"]["dist"]["tarball"], "http://h:1/npm/@s/b/-/b-1.1.0.tgz");
  EXPECT_EQ(a["versions"]["1.1.0"]["dependencies"]["@s/dep"], "^1");
  EXPECT_FALSE(a["versions"]["1.0.0"].contains("readme"));
}

TEST(NpmCacheRules, TheLocalUrlIsEscapedAsJson) {
  auto got = rewrite_packument("a/index.json", packument("a"), "http://h\",\"x\":\"y", "");
  ASSERT_TRUE(got.ok()) << got.error().message;
  Json doc = Json::parse(got->body);
  EXPECT_EQ(doc["versions"]["1.0.0"]["dist"]["tarball"], "http://h\",\"x\":\"y/a/-/a-1.0.0.tgz");
}

TEST(NpmCacheRules, NoPackumentOfThatNameNoRewrite) {
  EXPECT_FALSE(rewrite_packument("a/index.json", "not json", "http://h", "").ok());
  EXPECT_FALSE(rewrite_packument("a/index.json", packument("b"), "http://h", "").ok());
  EXPECT_FALSE(rewrite_packument("a/x.json", packument("a"), "http://h", "").ok());
}

class TarballOrigin : public ::testing::Test {
 protected:
  std::map<std::string, std::string> cached = {
      {"@s/b/index.json", packument("@s/b", "https://cdn.example")}};
  ReadCachedFn read = [this](std::string_view rel) -> std::optional<std::string> {
    auto it = cached.find(std::string(rel));
    if (it == cached.end()) return std::nullopt;
    return it->second;
  };
};

TEST_F(TarballOrigin, ComesFromTheUrlAndDigestsTheCachedPackumentGives) {
  auto o = tarball_origin("@s/b/-/b-1.0.0.tgz", read);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->url, "https://cdn.example/@s/b/-/b-1.0.0.tgz");
  EXPECT_FALSE(o->file.digests.sha512.empty());
  auto old = tarball_origin("@s/b/-/b-1.1.0.tgz", read);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->url, "https://cdn.example/b-1.1.0.tgz");
  EXPECT_EQ(old->file.digests.sha1, kSha1);
}

TEST_F(TarballOrigin, NothingWhenThePackumentIsMissingBrokenOrSilent) {
  EXPECT_FALSE(tarball_origin("@s/b/-/b-9.0.0.tgz", read));
  EXPECT_FALSE(tarball_origin("@s/c/-/c-1.0.0.tgz", read));
  EXPECT_FALSE(tarball_origin("@s/b/index.json", read));
  cached["@s/b/index.json"] = "{";
  EXPECT_FALSE(tarball_origin("@s/b/-/b-1.0.0.tgz", read));
}

}  // namespace
}  // namespace depot::npm
