#include "serve/page_rewrite.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace depot {
namespace {

const std::string kSha(64, 'a');

std::vector<UpstreamConfig> ups() {
  return {{"pypi", "http://up:1/pypi"}, {"files", "https://files.example.org"}};
}

TEST(PageRewrite, ResolvesReferences) {
  std::string base = "http://h/a/b/c/";
  EXPECT_EQ(resolve_url(base, "../../x.whl#sha256=1"), "http://h/a/x.whl#sha256=1");
  EXPECT_EQ(resolve_url(base, "/x/y"), "http://h/x/y");
  EXPECT_EQ(resolve_url(base, "d"), "http://h/a/b/c/d");
  EXPECT_EQ(resolve_url(base, "https://o/p"), "https://o/p");
  EXPECT_EQ(resolve_url(base, "//o/p"), "http://o/p");
  EXPECT_EQ(resolve_url("http://h/a/index.html", "./b/../c"), "http://h/a/c");
  EXPECT_EQ(resolve_url(base, "../../../../../x"), "http://h/x");
}

TEST(PageRewrite, MapsUrlsUnderUpstreamsOnly) {
  EXPECT_EQ(local_path_for("http://up:1/pypi/packages/x.whl", ups()), "/pypi/packages/x.whl");
  EXPECT_EQ(local_path_for("https://files.example.org/p/x.whl", ups()), "/files/p/x.whl");
  EXPECT_EQ(local_path_for("http://up:1/pypix/a", ups()), "");
  EXPECT_EQ(local_path_for("http://other/a", ups()), "");
}

TEST(PageRewrite, HtmlLinksPointAtTheCacheAndTheirDigestsAreKept) {
  std::string html = "<a href=\"../../packages/x-1.whl#sha256=" + kSha +
                     "\" data-requires-python=\"&gt;=3\">x</a>\n"
                     "<A HREF='https://files.example.org/p/y.tar.gz'>y</A>"
                     "<a href=\"https://elsewhere/z.whl\">z</a>";
  auto out = rewrite_simple_page(html, false, "http://up:1/pypi/simple/x/", ups());
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->body.find("href=\"/pypi/packages/x-1.whl#sha256=" + kSha + "\""),
            std::string::npos)
      << out->body;
  EXPECT_NE(out->body.find("HREF='/files/p/y.tar.gz'"), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("https://elsewhere/z.whl"), std::string::npos);
  EXPECT_NE(out->body.find("data-requires-python=\"&gt;=3\""), std::string::npos);
  ASSERT_EQ(out->digests.size(), 1u);
  EXPECT_EQ(out->digests[0].first, "pypi/packages/x-1.whl");
  EXPECT_EQ(out->digests[0].second, kSha);
}

TEST(PageRewrite, JsonFileUrlsPointAtTheCache) {
  nlohmann::json doc = {{"meta", {{"api-version", "1.1"}}},
                        {"name", "x"},
                        {"files",
                         {{{"filename", "x-1.whl"},
                           {"url", "/pypi/files/x-1.whl"},
                           {"hashes", {{"sha256", kSha}}}}}}};
  auto out = rewrite_simple_page(doc.dump(), true, "http://up:1/pypi/simple/x/", ups());
  ASSERT_TRUE(out.ok());
  auto back = nlohmann::json::parse(out->body);
  EXPECT_EQ(back["files"][0]["url"], "/pypi/files/x-1.whl");
  EXPECT_EQ(back["meta"]["api-version"], "1.1");
  ASSERT_EQ(out->digests.size(), 1u);
  EXPECT_EQ(out->digests[0].first, "pypi/files/x-1.whl");
  EXPECT_FALSE(rewrite_simple_page("{not json", true, "http://up:1/pypi/simple/x/", ups()).ok());
}

}  // namespace
}  // namespace depot

namespace depot {
namespace {

TEST(PageRewrite, NegotiatesTheJsonFormOnlyWhenPreferred) {
  EXPECT_TRUE(prefers_pypi_json("application/vnd.pypi.simple.v1+json"));
  EXPECT_TRUE(prefers_pypi_json(
      "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
      "text/html;q=0.01"));
  EXPECT_FALSE(prefers_pypi_json("text/html"));
  EXPECT_FALSE(prefers_pypi_json(""));
  EXPECT_FALSE(prefers_pypi_json("application/vnd.pypi.simple.v1+json;q=0.1, text/html"));
}

}  // namespace
}  // namespace depot
