#include "serve/page_rewrite.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

std::vector<UpstreamConfig> ups() {
  return {{"pypi", "http://up:1/pypi"}, {"files", "https://files.example.org"}};
}

TEST(PageRewrite, MapsUrlsUnderUpstreamsOnly) {
  EXPECT_EQ(local_path_for("http://up:1/pypi/packages/x.whl", ups()), "/pypi/packages/x.whl");
  EXPECT_EQ(local_path_for("https://files.example.org/p/x.whl", ups()), "/files/p/x.whl");
  EXPECT_EQ(local_path_for("http://up:1/pypix/a", ups()), "");
  EXPECT_EQ(local_path_for("http://other/a", ups()), "");
}

// PyPI is the registry that serves directory pages: JSON first for a PEP 691 client.
TEST(PageRewrite, DirectoryPagesFollowTheClientsAccept) {
  auto json = directory_pages("application/vnd.pypi.simple.v1+json");
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].file, "index.v1_json");
  EXPECT_EQ(json[0].accept, "application/vnd.pypi.simple.v1+json");
  EXPECT_EQ(json[1].file, "index.html");
  auto html = directory_pages("text/html");
  ASSERT_EQ(html.size(), 1u);
  EXPECT_EQ(html[0].file, "index.html");
  EXPECT_EQ(html[0].media_type, "text/html; charset=utf-8");
}

TEST(PageRewrite, PageVariantsAreKnownByTheirFileName) {
  auto v = page_variant("index.v1_json");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->first->name, "pypi");
  EXPECT_EQ(v->second.media_type, "application/vnd.pypi.simple.v1+json");
  EXPECT_TRUE(page_variant("index.html").has_value());
  EXPECT_FALSE(page_variant("Packages").has_value());
}

}  // namespace
}  // namespace depot
