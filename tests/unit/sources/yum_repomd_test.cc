#include <gtest/gtest.h>

#include "sources/yum/repomd.h"

namespace depot::yum {
namespace {

const std::string kSha(64, 'a');

std::string data(const std::string& type, const std::string& inner) {
  return "<data type=\"" + type + "\">" + inner + "</data>";
}

std::string repomd(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
)" + body +
         "</repomd>\n";
}

TEST(YumRepomd, ParsesCreaterepoOutput) {
  std::string xml = repomd(data("primary", R"(
    <checksum type="sha256">)" + std::string(64, 'A') +
                                               R"(</checksum>
    <open-checksum type="sha256">)" + kSha + R"(</open-checksum>
    <location href="repodata/x-primary.xml.gz"/>
    <timestamp>1700000000</timestamp>
    <size>732</size>
    <open-size>2966</open-size>)") +
                           data("updateinfo",
                                R"(<checksum type="sha">)" + std::string(40, 'b') +
                                    R"(</checksum><location href="repodata/u.xml.xz"/>)"));
  auto r = parse_repomd(xml, "http://up/repodata/repomd.xml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->revision, "1700000000");
  ASSERT_EQ(r->data.size(), 2u);
  const RepomdData* p = r->find("primary");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->href, "repodata/x-primary.xml.gz");
  EXPECT_EQ(p->checksum.sha256, kSha);  // lower-cased
  EXPECT_EQ(p->open_checksum.sha256, kSha);
  EXPECT_EQ(*p->size, 732u);
  EXPECT_EQ(*p->open_size, 2966u);
  const RepomdData* u = r->find("updateinfo");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->checksum.sha1, std::string(40, 'b'));
  EXPECT_FALSE(u->size.has_value());
  EXPECT_EQ(r->find("other"), nullptr);
}

TEST(YumRepomd, ChecksumTypes) {
  EXPECT_EQ(checksum_algo("sha256"), DigestAlgo::kSha256);
  EXPECT_EQ(checksum_algo("sha512"), DigestAlgo::kSha512);
  EXPECT_EQ(checksum_algo("sha1"), DigestAlgo::kSha1);
  EXPECT_EQ(checksum_algo("sha"), DigestAlgo::kSha1);
  EXPECT_EQ(checksum_algo("md5"), DigestAlgo::kMd5);
  EXPECT_EQ(checksum_algo("sha384"), std::nullopt);
  EXPECT_EQ(checksum_algo("SHA256"), std::nullopt);
}

void expect_error(const std::string& xml, const std::string& needle) {
  auto r = parse_repomd(xml, "http://up/repodata/repomd.xml");
  ASSERT_FALSE(r.ok()) << "accepted: " << xml;
  EXPECT_NE(r.error().message.find("http://up/repodata/repomd.xml"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
}

TEST(YumRepomd, RefusesWhatCannotBeMirroredSafely) {
  const std::string sum = "<checksum type=\"sha256\">" + kSha + "</checksum>";
  expect_error(repomd(data("primary", sum)), "no location");
  expect_error(repomd(data("primary", "<location href=\"repodata/p.xml\"/>")), "no checksum");
  expect_error(repomd(data("primary", "<checksum type=\"sha384\">ab</checksum>")), "sha384");
  expect_error(repomd(data("primary", "<checksum type=\"sha256\">xyz</checksum>")), "primary");
  expect_error(repomd(data("primary", sum + "<location href=\"\"/>")), "location@href");
  expect_error(repomd(data("primary", sum + "<location xml:base=\"http://x/\" href=\"p\"/>")),
               "xml:base");
  expect_error(repomd(data("primary", sum + "<location href=\"p\"/><size>-1</size>")), "size");
  expect_error(repomd("<data>" + sum + "</data>"), "without a type");
  expect_error("<metadata/>", "not <repomd>");
  expect_error(repomd(data("primary", sum)).substr(0, 120), "malformed XML");
  expect_error("", "malformed XML");
  expect_error("<!DOCTYPE r [<!ENTITY a \"aaaa\">]><repomd>&a;</repomd>", "DOCTYPE");
}

}  // namespace
}  // namespace depot::yum
