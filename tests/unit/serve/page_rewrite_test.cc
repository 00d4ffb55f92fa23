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

// A mirrored directory is answered with the first page present among every registry's: npm's
// packument (abbreviated when asked for) also at the directory's name, PyPI's pages only below
// the slash.
TEST(PageRewrite, MirrorDirectoryPagesCoverEveryRegistry) {
  auto names = [](std::string_view accept) {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& p : mirror_directory_pages(accept)) {
      out.emplace_back(std::string(p.variant.file), p.at_directory_name);
    }
    return out;
  };
  using V = std::vector<std::pair<std::string, bool>>;
  EXPECT_EQ(names("application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"),
            (V{{"index.abbrev.json", true}, {"index.json", true}, {"index.html", false}}));
  EXPECT_EQ(names("*/*"), (V{{"index.json", true}, {"index.html", false}}));
}

TEST(PageRewrite, ScopedPackumentTargetsAreCanonical) {
  EXPECT_EQ(canonical_target("/@fix%2futil"), "/@fix/util");
  EXPECT_EQ(canonical_target("/@fix%2Futil?write=true"), "/@fix/util?write=true");
  EXPECT_EQ(canonical_target("/a%2fb"), "/a%2fb");
  EXPECT_EQ(canonical_target("/@fix/util%2f"), "/@fix/util%2f");
  EXPECT_EQ(canonical_target("/@fix%2"), "/@fix%2");
  EXPECT_EQ(canonical_target("/npm/@fix%2futil"), "/npm/@fix/util");
  EXPECT_EQ(canonical_target("/npm/@fix/x?q=%2f"), "/npm/@fix/x?q=%2f");
}

}  // namespace
}  // namespace depot
