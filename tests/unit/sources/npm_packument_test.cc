#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sources/npm/packument.h"

namespace depot::npm {
namespace {

using Json = nlohmann::json;

// sha512 and sha1 of "abc".
constexpr const char* kSri =
    "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/"
    "uu9RU1EI2Q86A4qmslPpUyknw==";
constexpr const char* kSha512 =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a27"
    "4fc1a836ba3c23a3feeb"
    "bd454d4423643ce80e2a9ac94fa54ca49f";
constexpr const char* kSha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";

Json version(const std::string& name, const std::string& v, Json extra = Json::object()) {
  std::string file = name.substr(name.find('/') + 1) + "-" + v + ".tgz";
  Json out = {{"name", name},
              {"version", v},
              {"readme", "long text"},
              {"dist",
               {{"tarball", "https://registry.example/" + name + "/-/" + file},
                {"integrity", kSri},
                {"shasum", kSha1}}}};
  out.update(extra);
  return out;
}

Json packument() {
  Json doc = {{"_id", "@s/b"},
              {"name", "@s/b"},
              {"readme", "# b"},
              {"dist-tags", {{"latest", "1.10.0"}, {"beta", "2.0.0-beta.1"}}},
              {"time",
               {{"created", "2020-01-01T00:00:00.000Z"},
                {"modified", "2024-01-01T00:00:00.000Z"},
                {"1.2.0", "2020-01-02T00:00:00.000Z"},
                {"1.10.0", "2021-01-02T00:00:00.000Z"},
                {"1.9.0", "2020-06-02T00:00:00.000Z"},
                {"2.0.0-beta.1", "2022-01-02T00:00:00.000Z"}}}};
  doc["versions"]["1.2.0"] =
      version("@s/b", "1.2.0", {{"deprecated", "use 1.10"}, {"dependencies", {{"a", "^1"}}}});
  doc["versions"]["1.10.0"] =
      version("@s/b", "1.10.0",
              {{"dependencies", {{"a", "^1"}, {"alias", "npm:@t/real@^2"}, {"local", "file:../x"}}},
               {"optionalDependencies", {{"opt", "1.x"}}},
               {"peerDependencies", {{"peer", ">=1"}, {"gh", "user/repo"}}}});
  doc["versions"]["1.9.0"] = version("@s/b", "1.9.0");
  doc["versions"]["2.0.0-beta.1"] = version("@s/b", "2.0.0-beta.1");
  return doc;
}

TEST(NpmPackument, VersionsInSemverOrderWithTarballsDigestsAndDeps) {
  auto p = Packument::parse(packument().dump(), "@s/b", "http://up/@s%2fb");
  ASSERT_TRUE(p.ok()) << p.error().message;
  std::vector<std::string> order;
  for (const auto& v : p->versions()) order.push_back(v.version);
  EXPECT_EQ(order, (std::vector<std::string>{"1.2.0", "1.9.0", "1.10.0", "2.0.0-beta.1"}));
  const VersionInfo& v110 = p->versions()[2];
  EXPECT_EQ(v110.tarball.file, "b-1.10.0.tgz");
  EXPECT_EQ(v110.tarball.url, "https://registry.example/@s/b/-/b-1.10.0.tgz");
  EXPECT_EQ(v110.tarball.digests.sha512, kSha512);
  EXPECT_EQ(v110.tarball.digests.sha1, kSha1);
  std::vector<std::string> deps = v110.deps;
  std::sort(deps.begin(), deps.end());
  EXPECT_EQ(deps, (std::vector<std::string>{"@t/real", "a", "opt", "peer"}));
  EXPECT_TRUE(p->versions()[0].deprecated);
  EXPECT_FALSE(v110.deprecated);
  EXPECT_EQ(p->tagged_versions(), (std::set<std::string>{"1.10.0", "2.0.0-beta.1"}));
}

TEST(NpmPackument, RewriteAndAbbreviate) {
  auto p = Packument::parse(packument().dump(), "@s/b", "w");
  ASSERT_TRUE(p.ok()) << p.error().message;
  p->rewrite_tarballs(
      [](std::string_view, const Tarball& t) { return "http://mirror/@s/b/-/" + t.file; });
  Json full = Json::parse(p->full_json());
  EXPECT_EQ(full["versions"]["1.9.0"]["dist"]["tarball"], "http://mirror/@s/b/-/b-1.9.0.tgz");
  EXPECT_EQ(full["versions"]["1.9.0"]["dist"]["integrity"], kSri);
  EXPECT_EQ(full["readme"], "# b");
  EXPECT_EQ(full["_id"], "@s/b");
  Json abbrev = Json::parse(p->abbreviated_json());
  EXPECT_EQ(abbrev["name"], "@s/b");
  EXPECT_EQ(abbrev["modified"], "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(abbrev["dist-tags"]["latest"], "1.10.0");
  EXPECT_FALSE(abbrev.contains("readme"));
  EXPECT_FALSE(abbrev.contains("time"));
  const Json& v = abbrev["versions"]["1.2.0"];
  EXPECT_EQ(v["deprecated"], "use 1.10");
  EXPECT_EQ(v["dependencies"]["a"], "^1");
  EXPECT_EQ(v["dist"]["tarball"], "http://mirror/@s/b/-/b-1.2.0.tgz");
  EXPECT_FALSE(v.contains("readme"));
  EXPECT_EQ(abbrev["versions"].size(), 4u);
}

TEST(NpmPackument, LatestNKeepsTheHighestAndTaggedAndDropsTheRestEverywhere) {
  auto p = Packument::parse(packument().dump(), "@s/b", "w");
  ASSERT_TRUE(p.ok());
  auto keep = latest_versions(*p, 1);
  EXPECT_EQ(keep, (std::set<std::string>{"1.10.0", "2.0.0-beta.1"}));
  keep = latest_versions(*p, 2);  // 2.0.0-beta.1 is highest; 1.10.0 next (and tagged)
  EXPECT_EQ(keep, (std::set<std::string>{"1.10.0", "2.0.0-beta.1"}));
  keep.erase("2.0.0-beta.1");
  p->keep_versions(keep);
  ASSERT_EQ(p->versions().size(), 1u);
  Json full = Json::parse(p->full_json());
  EXPECT_EQ(full["versions"].size(), 1u);
  EXPECT_EQ(full["time"].size(), 3u);  // created, modified, 1.10.0
  EXPECT_TRUE(full["time"].contains("created"));
  EXPECT_EQ(full["dist-tags"], (Json{{"latest", "1.10.0"}}));
}

TEST(NpmPackument, SemverPrecedence) {
  EXPECT_LT(compare_semver("1.2.0", "1.10.0"), 0);
  EXPECT_LT(compare_semver("1.0.0-alpha", "1.0.0"), 0);
  EXPECT_LT(compare_semver("1.0.0-alpha", "1.0.0-alpha.1"), 0);
  EXPECT_LT(compare_semver("1.0.0-alpha.1", "1.0.0-alpha.beta"), 0);
  EXPECT_LT(compare_semver("1.0.0-beta.2", "1.0.0-beta.11"), 0);
  EXPECT_LT(compare_semver("1.0.0-rc.1", "1.0.0"), 0);
  EXPECT_EQ(compare_semver("1.0.0+a", "1.0.0+b"), 0);
  EXPECT_LT(compare_semver("junk", "0.0.1"), 0);
  EXPECT_GT(compare_semver("99999999999999999999.0.0", "9.0.0"), 0);
}

TEST(NpmPackument, NamesAndUrlPaths) {
  EXPECT_TRUE(valid_package_name("left-pad"));
  EXPECT_TRUE(valid_package_name("@types/node"));
  EXPECT_TRUE(valid_package_name("JSONStream"));
  for (const char* bad :
       {"", ".hidden", "_x", "@s", "@s/", "a/b", "@s/b/c", "..", "a b", "@../x", "a%2fb"}) {
    EXPECT_FALSE(valid_package_name(bad)) << bad;
  }
  EXPECT_EQ(packument_url_path("@types/node"), "@types%2fnode");
  EXPECT_EQ(packument_url_path("react"), "react");
}

TEST(NpmPackument, IntegrityForms) {
  auto both = parse_integrity(std::string(kSri) + " sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0= md5-x");
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->sha512, kSha512);
  EXPECT_EQ(both->sha1, kSha1);
  EXPECT_FALSE(parse_integrity("sha512-abc").ok());
  EXPECT_FALSE(parse_integrity("sha1-qZk+NkcGgWq6PiVxeFDCbJzQ").ok());
  EXPECT_TRUE(parse_integrity("sha256-whatever")->empty());
}

TEST(NpmPackument, HostileOrBrokenDocumentsAreRefusedNamingTheVersion) {
  auto refuse = [](Json doc, std::string_view want) {
    auto p = Packument::parse(doc.dump(), "@s/b", "http://up/@s%2fb");
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find(want), std::string::npos) << p.error().message;
  };
  Json doc = packument();
  doc["name"] = "other";
  refuse(doc, "is not package");
  doc = packument();
  doc["versions"]["1.9.0"]["dist"]["tarball"] = "https://x/../../etc/passwd";
  refuse(doc, "version \"1.9.0\": refusing tarball file name");
  doc = packument();
  doc["versions"]["1.9.0"]["dist"]["tarball"] = "file:///etc/x.tgz";
  refuse(doc, "not an http(s) URL");
  doc = packument();
  doc["versions"]["1.9.0"]["dist"].erase("integrity");
  doc["versions"]["1.9.0"]["dist"].erase("shasum");
  refuse(doc, "neither a sha512 integrity nor a shasum");
  doc = packument();
  doc["versions"]["1.9.0"]["dist"]["integrity"] =
      std::string(kSri) + " sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=";
  doc["versions"]["1.9.0"]["dist"]["shasum"] = std::string(40, '0');
  refuse(doc, "disagree");
  doc = packument();
  doc["versions"]["../x"] = version("@s/b", "../x");
  refuse(doc, "bad version");
  doc = packument();
  doc["versions"]["1.9.0"]["version"] = "1.9.1";
  refuse(doc, "version \"1.9.0\"");
  EXPECT_FALSE(Packument::parse("[1]", "a", "w").ok());
  EXPECT_FALSE(Packument::parse("{", "a", "w").ok());
  auto empty = Packument::parse(R"({"name":"a"})", "a", "w");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->versions().empty());
  empty->rewrite_tarballs([](std::string_view, const Tarball&) { return std::string(); });
  EXPECT_FALSE(Json::parse(empty->full_json()).contains("versions"));
  EXPECT_TRUE(Json::parse(empty->abbreviated_json())["versions"].is_object());
}

}  // namespace
}  // namespace depot::npm
