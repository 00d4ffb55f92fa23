#include "sources/pypi/page_rewrite.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace depot::pypi {
namespace {

const std::string kSha(64, 'a');

// As a cache with upstreams "pypi" -> http://up:1/pypi and "files" -> files.example.org maps.
std::string local(std::string_view url) {
  for (auto [prefix, base] : {std::pair{"/pypi", std::string_view("http://up:1/pypi/")},
                              std::pair{"/files", std::string_view("https://files.example.org/")}}) {
    if (url.starts_with(base)) return prefix + std::string("/") + std::string(url.substr(base.size()));
  }
  return "";
}

TEST(PypiPageRewrite, HtmlLinksPointAtTheCacheAndTheirDigestsAreKept) {
  std::string html = "<a href=\"../../packages/x-1.whl#sha256=" + kSha +
                     "\" data-requires-python=\"&gt;=3\">x</a>\n"
                     "<A HREF='https://files.example.org/p/y.tar.gz'>y</A>"
                     "<a href=\"//up:1/pypi/q/./r/../w.whl\">w</a>"
                     "<a href=\"https://elsewhere/z.whl\">z</a>";
  auto out = rewrite_simple_page(html, false, "http://up:1/pypi/simple/x/", local);
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->body.find("href=\"/pypi/packages/x-1.whl#sha256=" + kSha + "\""),
            std::string::npos)
      << out->body;
  EXPECT_NE(out->body.find("HREF='/files/p/y.tar.gz'"), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("href=\"/pypi/q/w.whl\""), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("https://elsewhere/z.whl"), std::string::npos);
  EXPECT_NE(out->body.find("data-requires-python=\"&gt;=3\""), std::string::npos);
  ASSERT_EQ(out->digests.size(), 1u);
  EXPECT_EQ(out->digests[0].first, "pypi/packages/x-1.whl");
  EXPECT_EQ(out->digests[0].second, kSha);
}

TEST(PypiPageRewrite, JsonFileUrlsPointAtTheCache) {
  nlohmann::json doc = {{"meta", {{"api-version", "1.1"}}},
                        {"name", "x"},
                        {"files",
                         {{{"filename", "x-1.whl"},
                           {"url", "/pypi/files/x-1.whl"},
                           {"hashes", {{"sha256", kSha}}}}}}};
  auto out = rewrite_simple_page(doc.dump(), true, "http://up:1/pypi/simple/x/", local);
  ASSERT_TRUE(out.ok());
  auto back = nlohmann::json::parse(out->body);
  EXPECT_EQ(back["files"][0]["url"], "/pypi/files/x-1.whl");
  EXPECT_EQ(back["meta"]["api-version"], "1.1");
  ASSERT_EQ(out->digests.size(), 1u);
  EXPECT_EQ(out->digests[0].first, "pypi/files/x-1.whl");
  EXPECT_FALSE(rewrite_simple_page("{not json", true, "http://up:1/pypi/simple/x/", local).ok());
}

TEST(PypiPageRewrite, NegotiatesTheJsonFormOnlyWhenPreferred) {
  EXPECT_TRUE(prefers_json("application/vnd.pypi.simple.v1+json"));
  EXPECT_TRUE(prefers_json(
      "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
      "text/html;q=0.01"));
  EXPECT_FALSE(prefers_json("text/html"));
  EXPECT_FALSE(prefers_json(""));
  EXPECT_FALSE(prefers_json("application/vnd.pypi.simple.v1+json;q=0.1, text/html"));
}

}  // namespace
}  // namespace depot::pypi
