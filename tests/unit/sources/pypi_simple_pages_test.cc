#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sources/pypi/simple_pages.h"

namespace depot::pypi {
namespace {

std::vector<ListedFile> sample() {
  DistFile a;
  a.filename = "demo-1.0-py3-none-any.whl";
  a.url = "https://up.example/f/demo-1.0-py3-none-any.whl";
  a.sha256 = std::string(64, 'a');
  a.requires_python = ">=3.8,<4";
  a.has_metadata = true;
  a.metadata_sha256 = std::string(64, 'e');
  DistFile b;
  b.filename = "demo-0.9.tar.gz";
  b.url = "https://up.example/f/demo-0.9.tar.gz";
  b.sha256 = std::string(64, 'b');
  b.yanked = "broken \"build\"";
  return {{a, "../../packages/aa/aa/x/demo-1.0-py3-none-any.whl"},
          {b, "../../packages/bb/bb/y/demo-0.9.tar.gz"}};
}

TEST(PypiPages, ProjectHtmlRoundTripsThroughTheParser) {
  const std::string page = "https://mirror.example/simple/demo/";
  std::string html = project_html("demo", sample());
  EXPECT_NE(html.find("data-requires-python=\"&gt;=3.8,&lt;4\""), std::string::npos) << html;
  EXPECT_NE(html.find("data-yanked=\"broken &quot;build&quot;\""), std::string::npos) << html;
  EXPECT_NE(html.find("data-core-metadata=\"sha256=" + std::string(64, 'e')), std::string::npos);
  EXPECT_NE(html.find("data-dist-info-metadata=\"sha256="), std::string::npos);
  auto parsed = parse_project_html(html, page);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].url,
            "https://mirror.example/packages/aa/aa/x/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(parsed->files[0].sha256, std::string(64, 'a'));
  EXPECT_EQ(parsed->files[0].requires_python, ">=3.8,<4");
  EXPECT_EQ(parsed->files[0].metadata_sha256, std::string(64, 'e'));
  EXPECT_FALSE(parsed->files[0].yanked);
  EXPECT_EQ(parsed->files[1].yanked, "broken \"build\"");
  EXPECT_FALSE(parsed->files[1].has_metadata);
}

TEST(PypiPages, ProjectJsonRoundTripsThroughTheParser) {
  std::string json = project_json("demo", sample());
  auto doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["meta"]["api-version"], "1.0");
  EXPECT_EQ(doc["name"], "demo");
  EXPECT_EQ(doc["files"][0]["url"], "../../packages/aa/aa/x/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(doc["files"][0]["core-metadata"]["sha256"], std::string(64, 'e'));
  EXPECT_FALSE(doc["files"][0].contains("yanked"));
  auto parsed = parse_project_json(json, "https://mirror.example/simple/demo/");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->files[1].yanked, "broken \"build\"");
  EXPECT_EQ(parsed->files[1].url, "https://mirror.example/packages/bb/bb/y/demo-0.9.tar.gz");
}

TEST(PypiPages, YankedWithoutReasonAndMetadataWithoutHash) {
  auto files = sample();
  files[1].file.yanked = "";
  files[0].file.metadata_sha256.clear();
  std::string html = project_html("demo", files);
  EXPECT_NE(html.find("data-yanked=\"\""), std::string::npos);
  EXPECT_NE(html.find("data-core-metadata=\"true\""), std::string::npos);
  auto doc = nlohmann::json::parse(project_json("demo", files));
  EXPECT_EQ(doc["files"][1]["yanked"], true);
  EXPECT_EQ(doc["files"][0]["core-metadata"], true);
}

TEST(PypiPages, RootListsProjects) {
  std::string html = root_html({"a-b", "c"});
  EXPECT_NE(html.find("<a href=\"a-b/\">a-b</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"c/\">c</a>"), std::string::npos);
  auto doc = nlohmann::json::parse(root_json({"a-b", "c"}));
  EXPECT_EQ(doc["meta"]["api-version"], "1.0");
  ASSERT_EQ(doc["projects"].size(), 2u);
  EXPECT_EQ(doc["projects"][1]["name"], "c");
}

TEST(PypiPages, Deterministic) {
  EXPECT_EQ(project_html("demo", sample()), project_html("demo", sample()));
  EXPECT_EQ(project_json("demo", sample()), project_json("demo", sample()));
}

}  // namespace
}  // namespace depot::pypi
