#include <gtest/gtest.h>

#include <vector>

#include "sources/yum/primary.h"

namespace depot::yum {
namespace {

const std::string kUrl = "http://up/repodata/abc-primary.xml.gz";

std::string package(const std::string& name, const std::string& location,
                    const std::string& checksum = "", const std::string& size = "") {
  return R"(<package type="rpm">
  <name>)" +
         name + R"(</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  )" +
         (checksum.empty()
              ? "<checksum type=\"sha256\" pkgid=\"YES\">" + std::string(64, 'c') + "</checksum>"
              : checksum) +
         R"(
  <summary>s</summary>
  )" + (size.empty() ? "<size package=\"6139\" installed=\"1024\" archive=\"1288\"/>" : size) +
         R"(
  )" + location +
         R"(
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:provides><rpm:entry name=")" +
         name + R"(" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
    <file>/usr/share/x/checksum</file>
  </format>
</package>
)";
}

std::string metadata(const std::string& packages, int count = -1) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm")" +
         (count >= 0 ? " packages=\"" + std::to_string(count) + "\"" : std::string()) + ">\n" +
         packages + "</metadata>\n";
}

struct Parsed {
  std::vector<Package> packages;
  Status status;
};

Parsed parse(const std::string& xml, size_t chunk) {
  Parsed out;
  PrimaryParser p(kUrl, [&](Package&& pkg) {
    out.packages.push_back(std::move(pkg));
    return ok_status();
  });
  for (size_t i = 0; i < xml.size(); i += chunk) {
    out.status = p.feed(std::string_view(xml).substr(i, chunk));
    if (!out.status.ok()) return out;
  }
  out.status = p.finish();
  return out;
}

TEST(YumPrimary, PackagesFromAnyChunking) {
  std::string xml = metadata(
      package("alpha", R"(<location href="Packages/a/alpha-1.0-1.noarch.rpm"/>)") +
          package(
              "c++lib",
              R"(<location href="Packages/c/c++lib-1.0-1.noarch.rpm"/>)",
              "<checksum type=\"sha\">" + std::string(40, 'D') + "</checksum>",
              "<size package=\"17\"/>"),
      2);
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, xml.size()}) {
    Parsed r = parse(xml, chunk);
    ASSERT_TRUE(r.status.ok()) << "chunk " << chunk << ": " << r.status.error().message;
    ASSERT_EQ(r.packages.size(), 2u) << chunk;
    EXPECT_EQ(r.packages[0].name, "alpha");
    EXPECT_EQ(r.packages[0].path.str(), "Packages/a/alpha-1.0-1.noarch.rpm");
    EXPECT_EQ(r.packages[0].size, 6139u);
    EXPECT_EQ(r.packages[0].digests.sha256, std::string(64, 'c'));
    EXPECT_EQ(r.packages[0].base, "");
    EXPECT_EQ(r.packages[1].digests.sha1, std::string(40, 'd'));
    EXPECT_TRUE(r.packages[1].digests.sha256.empty());
    EXPECT_EQ(r.packages[1].size, 17u);
  }
}

TEST(YumPrimary, ChecksumTypes) {
  const std::pair<std::string, std::string> kTypes[] = {{"sha256", std::string(64, 'a')},
                                                        {"sha512", std::string(128, 'b')},
                                                        {"sha1", std::string(40, 'c')},
                                                        {"sha", std::string(40, 'd')},
                                                        {"md5", std::string(32, 'e')}};
  for (const auto& [type, hex] : kTypes) {
    Parsed r = parse(metadata(package("p", R"(<location href="p.rpm"/>)",
                                      "<checksum type=\"" + type + "\">" + hex + "</checksum>")),
                     5);
    ASSERT_TRUE(r.status.ok()) << type << ": " << r.status.error().message;
    ASSERT_EQ(r.packages.size(), 1u);
    const Digests& d = r.packages[0].digests;
    EXPECT_EQ(d.sha256 + d.sha512 + d.sha1 + d.md5, hex) << type;
  }
  Parsed r =
      parse(metadata(package("p", R"(<location href="p.rpm"/>)",
                             "<checksum type=\"sha384\">" + std::string(96, 'a') + "</checksum>")),
            5);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.error().message.find("sha384"), std::string::npos);
}

void expect_error(const std::string& xml, const std::vector<std::string>& needles) {
  Parsed r = parse(xml, 13);
  ASSERT_FALSE(r.status.ok()) << "accepted:\n" << xml;
  const std::string& m = r.status.error().message;
  EXPECT_NE(m.find(kUrl), std::string::npos) << m;
  for (const auto& n : needles)
    EXPECT_NE(m.find(n), std::string::npos) << "no '" << n << "' in: " << m;
}

TEST(YumPrimary, HostileLocationsNameFileAndPackage) {
  const char* kHostile[] = {"/etc/passwd",         "../../outside.rpm", "Packages/../../x.rpm",
                            "http://evil/x.rpm",   "file:x.rpm",        "a//b.rpm",
                            "repodata/repomd.xml", "repodata/evil.rpm", "repodata",
                            ".depot/state.db",     "Packages/a\\b.rpm", "Packages/./x.rpm"};
  for (const char* href : kHostile) {
    SCOPED_TRACE(href);
    expect_error(metadata(package("ok", R"(<location href="ok.rpm"/>)") +
                          package("evil", std::string("<location href=\"") + href + "\"/>")),
                 {"evil", "refusing"});
  }
  expect_error(metadata(package("evil", R"(<location xml:base="file:///etc" href="passwd"/>)")),
               {"evil", "xml:base"});
  expect_error(metadata(package("cdn", R"(<location xml:base="http://169.254.169.254/" href="x.rpm"/>)")),
               {"cdn", "xml:base"});
}

TEST(YumPrimary, MissingPartsNameThePackage) {
  expect_error(metadata(package("nolocation", "")), {"nolocation", "no location"});
  expect_error(metadata(package("nohref", "<location/>")), {"nohref", "location without href"});
  expect_error(
      metadata(package("nosize", R"(<location href="a.rpm"/>)", "", "<size installed=\"1\"/>")),
      {"nosize", "size"});
  expect_error(
      metadata(package("badsize", R"(<location href="a.rpm"/>)", "", "<size package=\"x1\"/>")),
      {"badsize", "size"});
  expect_error(metadata(package("nosum", R"(<location href="a.rpm"/>)",
                                "<checksum type=\"sha256\"></checksum>")),
               {"nosum"});
  expect_error(
      metadata(package("notype", R"(<location href="a.rpm"/>)", "<checksum>ab</checksum>")),
      {"notype", "type"});
  expect_error(metadata(package("short", R"(<location href="a.rpm"/>)",
                                "<checksum type=\"sha256\">abcd</checksum>")),
               {"short"});
}

TEST(YumPrimary, MalformedOrTruncatedXml) {
  std::string good = metadata(package("a", R"(<location href="a.rpm"/>)"), 1);
  expect_error(good.substr(0, good.size() / 2), {"malformed XML"});
  expect_error(good.substr(0, good.size() - 3), {"malformed XML"});
  expect_error("<metadata><package></metadata>", {"malformed XML", "line"});
  expect_error("not xml at all", {"malformed XML"});
  expect_error("<repomd/>", {"not <metadata>"});
  expect_error(metadata(package("a", R"(<location href="a.rpm"/>)"), 2), {"declares 2", "lists 1"});
  expect_error("<!DOCTYPE m [<!ENTITY x \"y\">]><metadata>&x;</metadata>", {"DOCTYPE"});
  // A DTD could default attributes (xml:base) or hide undefined entities.
  expect_error("<!DOCTYPE metadata [<!ATTLIST location xml:base CDATA \"http://evil/\">]>" +
                   metadata(package("p", R"(<location href="p.rpm"/>)")),
               {"DOCTYPE"});
  expect_error("<!DOCTYPE metadata SYSTEM \"x\"><metadata/>", {"DOCTYPE"});
}

TEST(YumPrimary, SinkErrorStopsTheParse) {
  int calls = 0;
  PrimaryParser p(kUrl, [&](Package&&) -> Status {
    ++calls;
    return make_error(ErrorCode::kParse, "stop");
  });
  std::string xml = metadata(package("a", R"(<location href="a.rpm"/>)") +
                             package("b", R"(<location href="b.rpm"/>)"));
  Status s = p.feed(xml);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "stop");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(p.finish().ok());
}

}  // namespace
}  // namespace depot::yum
