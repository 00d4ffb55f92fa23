#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sources/pypi/simple_index.h"
#include "sources/source.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

const std::string kShaA(64, 'a');
const std::string kShaB = "bb" + std::string(62, 'c');
const std::string kShaM(64, 'd');

std::string json_page() {
  return R"({"meta":{"api-version":"1.1"},"name":"Demo","files":[
    {"filename":"demo-1.0-py3-none-any.whl","url":"https://files.up/p/demo-1.0-py3-none-any.whl",
     "hashes":{"sha256":")" +
         kShaA + R"("},"size":5,"core-metadata":{"sha256":")" + kShaM +
         R"("}},
    {"filename":"demo 1.1.tar.gz","url":"../../f/demo%201.1.tar.gz?x=1","hashes":{"sha256":")" +
         kShaB + R"("},"yanked":"bad"}]})";
}


Result<Snapshot> snap(FakeContext& ctx, std::vector<std::string> projects,
                      const std::string& upstream = "http://up") {
  SourceOptions opts;
  opts.upstream = upstream;
  if (!projects.empty()) opts.lists["project"] = std::move(projects);
  auto src = make_source("pypi", opts);
  if (!src.ok()) return src.error();
  return (*src)->snapshot(ctx);
}

class PypiSourceTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(PypiSourceTest, FilesThenProjectPagesThenRootLast) {
  ctx.files["http://up/simple/demo/"] = json_page();
  auto s = snap(ctx, {"DEMO"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto& e : s->entries) got.emplace_back(e.path.str(), e.stage);
  const std::string a = "packages/aa/aa/" + std::string(60, 'a') + "/demo-1.0-py3-none-any.whl";
  const std::string b = "packages/bb/cc/" + std::string(60, 'c') + "/demo 1.1.tar.gz";
  std::vector<std::pair<std::string, Stage>> want = {{a, Stage::kBlob},
                                                     {a + ".metadata", Stage::kBlob},
                                                     {b, Stage::kBlob},
                                                     {"simple/demo/index.html", Stage::kIndex},
                                                     {"simple/demo/index.v1_html", Stage::kIndex},
                                                     {"simple/demo/index.v1_json", Stage::kIndex},
                                                     {"simple/index.html", Stage::kRoot},
                                                     {"simple/index.v1_html", Stage::kRoot},
                                                     {"simple/index.v1_json", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[0].url, "https://files.up/p/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(s->entries[0].digests.sha256, kShaA);
  EXPECT_EQ(s->entries[0].size, 5u);
  EXPECT_EQ(s->entries[1].url, "https://files.up/p/demo-1.0-py3-none-any.whl.metadata");
  EXPECT_EQ(s->entries[1].digests.sha256, kShaM);
  EXPECT_FALSE(s->entries[1].size);
  EXPECT_EQ(s->entries[2].url, "http://up/f/demo%201.1.tar.gz?x=1");
  EXPECT_FALSE(s->entries[2].size);
  ASSERT_EQ(ctx.accepts.size(), 1u);
  EXPECT_NE(ctx.accepts[0].find("application/vnd.pypi.simple.v1+json"), std::string::npos);

  // Generated pages: local content, sized and hashed, links relative to the page.
  for (size_t i = 3; i < s->entries.size(); ++i) {
    const Entry& e = s->entries[i];
    ASSERT_TRUE(e.content) << e.path.str();
    std::string body = testing::content_of(e);
    EXPECT_EQ(*e.size, body.size());
    Hasher h(digest_bit(DigestAlgo::kSha256));
    h.update(body);
    EXPECT_EQ(e.digests.sha256, h.finish().sha256) << e.path.str();
  }
  std::string html = testing::content_of(s->entries[3]);
  EXPECT_NE(html.find("href=\"../../" + a + "#sha256=" + kShaA + "\""), std::string::npos) << html;
  EXPECT_NE(html.find("demo%201.1.tar.gz#sha256="), std::string::npos) << html;
  EXPECT_NE(html.find("data-yanked=\"bad\""), std::string::npos);
  EXPECT_EQ(testing::content_of(s->entries[4]), html);
  auto reparsed =
      pypi::parse_project_json(testing::content_of(s->entries[5]), "http://mirror/simple/demo/");
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(reparsed->files[1].filename, "demo 1.1.tar.gz");
  EXPECT_EQ(reparsed->files[1].url,
            "http://mirror/" + std::string(b.substr(0, b.rfind('/'))) + "/demo%201.1.tar.gz");
  EXPECT_NE(testing::content_of(s->entries[6]).find("<a href=\"demo/\">demo</a>"), std::string::npos);
}

TEST_F(PypiSourceTest, HtmlUpstreamAndSimpleUrlAndNormalisedDedupedNames) {
  ctx.files["http://up/simple/a-b/"] =
      "<html><body><a href=\"/f/a_b-1.whl#sha256=" + kShaA + "\">a_b-1.whl</a></body></html>";
  ctx.files["http://up/simple/c/"] = "<html><body></body></html>";
  auto s = snap(ctx, {"A_b", "a.B", "c", "C"}, "http://up/simple/");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(ctx.asked, (std::vector<std::string>{"http://up/simple/a-b/", "http://up/simple/c/"}));
  EXPECT_EQ(s->entries[0].url, "http://up/f/a_b-1.whl");
  EXPECT_EQ(s->entries.size(), 1u + 3 + 3 + 3);
}

TEST_F(PypiSourceTest, SameFileInTwoProjectsIsOneEntry) {
  std::string page = "<a href=\"/f/x.whl#sha256=" + kShaA + "\">x.whl</a>";
  ctx.files["http://up/simple/p1/"] = page;
  ctx.files["http://up/simple/p2/"] = page;
  auto s = snap(ctx, {"p1", "p2"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->entries.size(), 1u + 3 + 3 + 3);
}

TEST_F(PypiSourceTest, MissingProjectIsAnErrorNamingIt) {
  auto s = snap(ctx, {"nope"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("nope"), std::string::npos);
}

TEST_F(PypiSourceTest, HostileFileNameNamesProjectAndFile) {
  ctx.files["http://up/simple/evil/"] =
      "<a href=\"x.whl#sha256=" + kShaA + "\">../../../etc/x.whl</a>";
  auto s = snap(ctx, {"evil"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath);
  EXPECT_NE(s.error().message.find("evil"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("../../../etc/x.whl"), std::string::npos) << s.error().message;
}

TEST_F(PypiSourceTest, MalformedPageIsAParseErrorNamingTheUrl) {
  ctx.files["http://up/simple/bad/"] = "{\"meta\": {";
  auto s = snap(ctx, {"bad"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kParse);
  EXPECT_NE(s.error().message.find("http://up/simple/bad/"), std::string::npos);
}

TEST_F(PypiSourceTest, OptionsAreChecked) {
  EXPECT_FALSE(snap(ctx, {}).ok());                  // no project
  EXPECT_FALSE(snap(ctx, {"../x"}).ok());            // invalid name
  EXPECT_FALSE(snap(ctx, {"ok"}, "ftp://up").ok());  // not http(s)
  EXPECT_TRUE(ctx.asked.empty());
}

TEST_F(PypiSourceTest, FileListedByTwoProjectsIsDescribedAsMirrored) {
  // "demo" lists the wheel with core metadata; "other" lists the same wheel without, and
  // "third" with a different metadata hash. Every page must describe the one mirrored copy.
  ctx.files["http://up/simple/demo/"] = json_page();
  std::string other = json_page();
  other.replace(other.find(",\"core-metadata\""), std::string(",\"core-metadata\":{\"sha256\":\"").size() + 64 + 2, "");
  ctx.files["http://up/simple/other/"] = other;
  std::string third = json_page();
  third.replace(third.find(kShaM), 64, std::string(64, 'e'));
  ctx.files["http://up/simple/third/"] = third;
  auto s = snap(ctx, {"demo", "other", "third"});
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  int metadata_entries = 0;
  for (const auto& e : s->entries) {
    if (e.path.str().ends_with(".whl.metadata")) {
      ++metadata_entries;
      EXPECT_EQ(e.digests.sha256, kShaM);
    }
  }
  EXPECT_EQ(metadata_entries, 1);
  for (const char* project : {"other", "third"}) {
    for (const auto& e : s->entries) {
      if (e.path.str() != std::string("simple/") + project + "/index.v1_json") continue;
      std::string page = testing::content_of(e);
      EXPECT_NE(page.find(kShaM), std::string::npos) << project << ": " << page;
      EXPECT_EQ(page.find(std::string(64, 'e')), std::string::npos) << project;
    }
  }
}

}  // namespace
}  // namespace depot
