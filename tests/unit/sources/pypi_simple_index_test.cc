#include <gtest/gtest.h>

#include "sources/pypi/simple_index.h"

namespace depot::pypi {
namespace {

const std::string kSha(64, 'a');
const std::string kSha2(64, 'b');
const std::string kPage = "https://up.example/simple/demo/";

TEST(PypiNormalize, Pep503) {
  EXPECT_EQ(normalize_name("Friendly-Bard"), "friendly-bard");
  EXPECT_EQ(normalize_name("FRIENDLY-BARD"), "friendly-bard");
  EXPECT_EQ(normalize_name("friendly.bard"), "friendly-bard");
  EXPECT_EQ(normalize_name("friendly_bard"), "friendly-bard");
  EXPECT_EQ(normalize_name("friendly--bard"), "friendly-bard");
  EXPECT_EQ(normalize_name("FrIeNdLy-._.-bArD"), "friendly-bard");
}

TEST(PypiNormalize, ValidNames) {
  EXPECT_TRUE(valid_project_name("requests"));
  EXPECT_TRUE(valid_project_name("zope.interface"));
  EXPECT_TRUE(valid_project_name("A_b-c.9"));
  EXPECT_FALSE(valid_project_name(""));
  EXPECT_FALSE(valid_project_name("-lead"));
  EXPECT_FALSE(valid_project_name("trail."));
  EXPECT_FALSE(valid_project_name("../etc"));
  EXPECT_FALSE(valid_project_name("a/b"));
  EXPECT_FALSE(valid_project_name("a b"));
}

TEST(PypiResolveUrl, RelativeAbsoluteAndDotSegments) {
  EXPECT_EQ(*resolve_url(kPage, "../../files/x.whl#sha256=00"), "https://up.example/files/x.whl");
  EXPECT_EQ(*resolve_url(kPage, "x.whl"), "https://up.example/simple/demo/x.whl");
  EXPECT_EQ(*resolve_url(kPage, "/p/x.whl"), "https://up.example/p/x.whl");
  EXPECT_EQ(*resolve_url(kPage, "//cdn.example/p/x.whl"), "https://cdn.example/p/x.whl");
  EXPECT_EQ(*resolve_url(kPage, "HTTP://other:8080/a/./b/../x.whl?q=1"),
            "http://other:8080/a/x.whl?q=1");
  EXPECT_EQ(*resolve_url(kPage, "../../../../../x.whl"), "https://up.example/x.whl");
}

TEST(PypiResolveUrl, RefusesOtherSchemesAndControlBytes) {
  EXPECT_FALSE(resolve_url(kPage, "file:///etc/passwd").ok());
  EXPECT_FALSE(resolve_url(kPage, "javascript:alert(1)").ok());
  EXPECT_FALSE(resolve_url(kPage, "a\nb.whl").ok());
  EXPECT_FALSE(resolve_url(kPage, "a b.whl").ok());
  EXPECT_FALSE(resolve_url("not-a-url", "x.whl").ok());
}

TEST(PypiFilename, RefusesHostileNames) {
  EXPECT_TRUE(check_filename("demo-1.0-py3-none-any.whl", "p").ok());
  for (const char* bad : {"", "..", ".", "../x.whl", "a/b.whl", "a\\b.whl", ".hidden", "/abs"}) {
    auto s = check_filename(bad, "demo");
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_NE(s.error().message.find("demo"), std::string::npos);
    }
  }
  EXPECT_FALSE(check_filename(std::string(201, 'a'), "p").ok());
  EXPECT_FALSE(check_filename(std::string("a\x01.whl"), "p").ok());
  // Found by fuzz/pypi_page_fuzz: a name that is not UTF-8 (from an HTML page) became another
  // name in the mirror's JSON page (U+FFFD) than in its HTML page and on disk.
  EXPECT_FALSE(check_filename("\xd7iny_alpha-1.0-py3-none-any.whl", "p").ok());
  EXPECT_FALSE(check_filename("a\xe2\x82.whl", "p").ok());
  EXPECT_TRUE(check_filename("caf\xc3\xa9-1.0.tar.gz", "p").ok());
  // Found by fuzz/pypi_page_fuzz: "h " from a JSON page became "h" when the mirror's own HTML
  // page (trimmed link text) was read back.
  EXPECT_FALSE(check_filename("h ", "p").ok());
  EXPECT_FALSE(check_filename(" demo-1.0.whl", "p").ok());
  EXPECT_TRUE(check_filename("demo 1.0.whl", "p").ok());
}

TEST(PypiJson, ParsesFilesYankedMetadataAndSize) {
  std::string body = R"({"meta":{"api-version":"1.1"},"name":"demo","files":[
    {"filename":"demo-1.0.whl","url":"../../f/demo-1.0.whl","hashes":{"sha256":")" +
                     kSha +
                     R"("},"size":12,"requires-python":">=3.8","core-metadata":{"sha256":")" +
                     kSha2 + R"("}},
    {"filename":"demo-1.1.whl","url":"https://files.example/demo-1.1.whl","hashes":{"sha256":")" +
                     kSha2 + R"(","md5":"x"},"yanked":"bad","dist-info-metadata":true},
    {"filename":"demo-1.2.whl","url":"/demo-1.2.whl","hashes":{"sha256":")" +
                     kSha + R"("},"yanked":true,"core-metadata":false}]})";
  auto page = parse_project_page(body, kPage);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->files.size(), 3u);
  const auto& a = page->files[0];
  EXPECT_EQ(a.url, "https://up.example/f/demo-1.0.whl");
  EXPECT_EQ(a.sha256, kSha);
  EXPECT_EQ(a.size, 12u);
  EXPECT_EQ(a.requires_python, ">=3.8");
  EXPECT_FALSE(a.yanked);
  EXPECT_TRUE(a.has_metadata);
  EXPECT_EQ(a.metadata_sha256, kSha2);
  const auto& b = page->files[1];
  EXPECT_EQ(b.yanked, "bad");
  EXPECT_TRUE(b.has_metadata);
  EXPECT_EQ(b.metadata_sha256, "");
  const auto& c = page->files[2];
  EXPECT_EQ(c.yanked, "");
  EXPECT_FALSE(c.has_metadata);
  EXPECT_EQ(c.url, "https://up.example/demo-1.2.whl");
}

TEST(PypiJson, Malformed) {
  auto file = [&](const std::string& fields) {
    return R"({"meta":{"api-version":"1.0"},"files":[{)" + fields + "}]}";
  };
  const std::string ok_fields =
      R"("filename":"d.whl","url":"d.whl","hashes":{"sha256":")" + kSha + "\"}";
  ASSERT_TRUE(parse_project_json(file(ok_fields), kPage).ok());
  for (const std::string& body : {
           std::string("{\"meta\":"),                                             // truncated
           std::string("[]"),                                                     // not an object
           std::string(R"({"files":[]})"),                                        // no meta
           std::string(R"({"meta":{"api-version":"2.0"},"files":[]})"),           // unknown major
           std::string(R"({"meta":{"api-version":"1.0"}})"),                      // no files
           file(R"("url":"d.whl","hashes":{"sha256":")" + kSha + "\"}"),          // no filename
           file(R"("filename":"d.whl","hashes":{"sha256":")" + kSha + "\"}"),     // no url
           file(R"("filename":"d.whl","url":"d.whl","hashes":{"md5":"00"})"),     // no sha256
           file(R"("filename":"d.whl","url":"d.whl","hashes":{"sha256":"zz"})"),  // bad hex
           file(ok_fields + R"(,"size":-1)"),
           file(ok_fields + R"(,"yanked":3)"),
           file(R"("filename":"../d.whl","url":"d.whl","hashes":{"sha256":")" + kSha + "\"}"),
           file(R"("filename":"d.whl","url":"file:///d.whl","hashes":{"sha256":")" + kSha + "\"}"),
       }) {
    auto page = parse_project_json(body, kPage);
    EXPECT_FALSE(page.ok()) << body;
    if (!page.ok()) {
      EXPECT_NE(page.error().message.find(kPage), std::string::npos) << body;
    }
  }
}

TEST(PypiJson, DuplicateFileNames) {
  auto entry = [&](const std::string& sha) {
    return R"({"filename":"d.whl","url":"d.whl","hashes":{"sha256":")" + sha + "\"}}";
  };
  std::string same =
      R"({"meta":{"api-version":"1.0"},"files":[)" + entry(kSha) + "," + entry(kSha) + "]}";
  auto page = parse_project_json(same, kPage);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->files.size(), 1u);
  std::string differ =
      R"({"meta":{"api-version":"1.0"},"files":[)" + entry(kSha) + "," + entry(kSha2) + "]}";
  EXPECT_FALSE(parse_project_json(differ, kPage).ok());
}

TEST(PypiHtml, ParsesAnchorsAttributesAndEntities) {
  std::string body =
      "<!DOCTYPE html><html><body><!-- <a href=\"skip.whl\">skip.whl</a> -->\n"
      "<h1>Links</h1>\n"
      "<A HREF=\"../../f/demo-1.0.whl#sha256=" +
      kSha +
      "\" data-requires-python=\"&gt;=3.8,&lt;4&#x2c;!=3.9.*\" "
      "data-core-metadata=\"sha256=" +
      kSha2 +
      "\">demo-1.0.whl</A><br/>\n"
      "<a data-yanked href='demo-1.1.whl#sha256=" +
      kSha2 +
      "' data-dist-info-metadata=true> demo-1.1.whl </a>\n"
      "<a href=demo-1.2.whl#SHA256=" +
      kSha +
      " data-yanked=\"old &amp; bad\">"
      "demo-1.2.whl</a>\n"
      "<a name=\"no-href\">nothing</a></body></html>";
  auto page = parse_project_page(body, kPage);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->files.size(), 3u);
  EXPECT_EQ(page->files[0].filename, "demo-1.0.whl");
  EXPECT_EQ(page->files[0].url, "https://up.example/f/demo-1.0.whl");
  EXPECT_EQ(page->files[0].requires_python, ">=3.8,<4,!=3.9.*");
  EXPECT_EQ(page->files[0].metadata_sha256, kSha2);
  EXPECT_FALSE(page->files[0].yanked);
  EXPECT_EQ(page->files[1].filename, "demo-1.1.whl");
  EXPECT_EQ(page->files[1].yanked, "");
  EXPECT_TRUE(page->files[1].has_metadata);
  EXPECT_EQ(page->files[1].metadata_sha256, "");
  EXPECT_EQ(page->files[2].yanked, "old & bad");
  EXPECT_EQ(page->files[2].url, "https://up.example/simple/demo/demo-1.2.whl");
}

TEST(PypiHtml, BaseHrefAndEmptyPage) {
  std::string body =
      "<html><head><base href=\"https://cdn.example/x/\"></head><body>"
      "<a href=\"d.whl#sha256=" +
      kSha + "\">d.whl</a></body></html>";
  auto page = parse_project_html(body, kPage);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->files[0].url, "https://cdn.example/x/d.whl");
  auto empty = parse_project_html("<html><body></body></html>", kPage);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->files.empty());
}

TEST(PypiHtml, NameFromAnEmptyAnchorIsPercentDecoded) {
  auto page = parse_project_html(
      "<a href=\"foo-1.0%2Bx.tar.gz#sha256=" + kSha + "\"></a>", kPage);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->files[0].filename, "foo-1.0+x.tar.gz");
  auto slash = parse_project_html("<a href=\"x%2F..%2Fevil.whl#sha256=" + kSha + "\"></a>", kPage);
  EXPECT_FALSE(slash.ok());
}

TEST(PypiHtml, Malformed) {
  for (const std::string& body : {
           "<a href=\"d.whl#sha256=" + kSha + "\">d.whl",              // no </a>
           "<a href=\"d.whl#sha256=" + kSha,                           // unterminated tag
           std::string("<!-- <a href=x>x</a>"),                        // unterminated comment
           std::string("<a href=\"d.whl\">d.whl</a>"),                 // no sha256
           std::string("<a href=\"d.whl#md5=00\">d.whl</a>"),          // no sha256 either
           std::string("<a href=\"d.whl#sha256=xyz\">d.whl</a>"),      // bad hex
           "<a href=\"../d.whl#sha256=" + kSha + "\">../d.whl</a>",    // hostile name
           "<a href=\"file:///d.whl#sha256=" + kSha + "\">d.whl</a>",  // not http(s)
       }) {
    auto page = parse_project_html(body, kPage);
    EXPECT_FALSE(page.ok()) << body;
  }
}

TEST(PypiSniff, JsonOrHtml) {
  EXPECT_TRUE(looks_like_json("  \n{\"meta\":{}}"));
  EXPECT_FALSE(looks_like_json("<!DOCTYPE html>"));
  EXPECT_FALSE(looks_like_json(""));
}

}  // namespace
}  // namespace depot::pypi
