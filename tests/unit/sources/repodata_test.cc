#include "sources/conda/repodata.h"

#include <gtest/gtest.h>

namespace depot::conda {
namespace {

const std::string kSha(64, 'a');
const std::string kMd5(32, 'b');

std::string doc(const std::string& name, const std::string& fields,
                const std::string& section = "packages.conda") {
  return R"({"info":{"subdir":"noarch"},")" + section + R"(":{")" + name + R"(":{)" + fields +
         "}}}";
}

std::string good_fields() {
  return R"("name":"x","depends":["a >=1"],"size":123,"sha256":")" + kSha + R"(","md5":")" +
         kMd5 + "\"";
}

TEST(Repodata, ParsesBothSectionsSorted) {
  std::string json = R"({"info":{"subdir":"linux-64","base_url":"https://cdn/x"},
    "packages":{"b-1-0.tar.bz2":{"size":5,"md5":")" + kMd5 + R"("}},
    "packages.conda":{"a-1-0.conda":{"size":7,"sha256":")" + kSha + R"(","timestamp":1}},
    "removed":["old.tar.bz2"],"repodata_version":1})";
  auto r = parse_repodata(json, "repodata.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subdir, "linux-64");
  EXPECT_EQ(r->base_url, "https://cdn/x");
  ASSERT_EQ(r->packages.size(), 2u);
  EXPECT_EQ(r->packages[0].filename, "a-1-0.conda");
  EXPECT_EQ(r->packages[0].size, 7u);
  EXPECT_EQ(r->packages[0].digests.sha256, kSha);
  EXPECT_EQ(r->packages[1].filename, "b-1-0.tar.bz2");
  EXPECT_EQ(r->packages[1].digests.md5, kMd5);
}

TEST(Repodata, PushParserMatchesWholeDocument) {
  std::string json = doc("a-1-0.conda", good_fields());
  RepodataParser p("r.json");
  for (char c : json) p.feed(std::string_view(&c, 1));
  auto r = p.finish();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->packages.size(), 1u);
}

TEST(Repodata, RefusesHostileNames) {
  for (std::string name : {"../x.conda", "/etc/passwd", "a/../../b.conda", "sub/..",
                           "sub/x.conda", "x\\u0000y.conda", "..", "repodata.json",
                           "current_repodata.json", ".depot"}) {
    auto r = parse_repodata(doc(name, good_fields()), "https://up/noarch/repodata.json");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.error().message.find("https://up/noarch/repodata.json"), std::string::npos);
  }
}

TEST(Repodata, ErrorsNameTheEntry) {
  struct Case {
    std::string fields;
    const char* expect;
  } cases[] = {
      {R"("sha256":")" + kSha + "\"", "missing size"},
      {R"("size":1)", "missing sha256 and md5"},
      {R"("size":-1,"sha256":")" + kSha + "\"", "size"},
      {R"("size":"12","sha256":")" + kSha + "\"", "size"},
      {R"("size":1,"sha256":"nothex")", "sha256"},
      {R"("size":1,"sha256":12)", "sha256"},
  };
  for (const auto& c : cases) {
    auto r = parse_repodata(doc("pkg-1-0.conda", c.fields), "r.json");
    ASSERT_FALSE(r.ok()) << c.fields;
    EXPECT_NE(r.error().message.find("pkg-1-0.conda"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST(Repodata, MalformedDocuments) {
  for (std::string json : {std::string(""), std::string("{"), std::string("[]"),
                           std::string(R"({"info":{}})"), doc("a.conda", good_fields()) + "x",
                           std::string(R"({"packages":[]})"),
                           std::string(R"({"packages":{"a.conda":5}})")}) {
    auto r = parse_repodata(json, "r.json");
    EXPECT_FALSE(r.ok()) << json;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kParse) << json;
    }
  }
}

TEST(Repodata, DuplicateAcrossSectionsRefused) {
  std::string json = R"({"packages":{"a.conda":{"size":1,"md5":")" + kMd5 +
                     R"("}},"packages.conda":{"a.conda":{"size":1,"md5":")" + kMd5 + R"("}}})";
  auto r = parse_repodata(json, "r.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("twice"), std::string::npos);
}

}  // namespace
}  // namespace depot::conda
