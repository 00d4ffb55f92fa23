#include "serve/file_class.h"

#include <gtest/gtest.h>

#include <string>

namespace depot {
namespace {

struct Case {
  const char* rel;
  FileClass cls;
};

TEST(FileClass, ClassifiesEveryRegistry) {
  const std::string h32(32, 'a');
  const std::string h64 = std::string(32, '0') + std::string(32, 'f');
  const std::string by_hash_rpm = "repodata/" + h64 + "-primary.xml.gz";
  const std::string by_hash_short = "repodata/" + std::string(31, 'a') + "-primary.xml.gz";
  const std::string apt_by_hash = "debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/" + h64;
  const std::string apt_by_hash_md5 = "dists/bookworm/main/i18n/by-hash/MD5Sum/" + h32;
  const std::string pypi = "packages/ab/cd/" + h64.substr(4) + "/pkg-1.0.tar.gz";
  const Case cases[] = {
      // apt
      {"debian/pool/main/j/jq/jq_1.6-2_amd64.deb", FileClass::kBlob},
      {"pool/main/d/d-i/x_1_amd64.udeb", FileClass::kBlob},
      {"pool/main/j/jq/jq-dbgsym_1.6_amd64.ddeb", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6-2.dsc", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6.orig.tar.gz", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6-2.debian.tar.xz", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6.orig.tar.gz.asc", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6-1.diff.gz", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6-2_amd64.buildinfo", FileClass::kBlob},
      {"pool/main/j/jq/jq_1.6-2_amd64.changes", FileClass::kBlob},
      {apt_by_hash.c_str(), FileClass::kBlob},
      {apt_by_hash_md5.c_str(), FileClass::kBlob},
      {"dists/bookworm/main/binary-amd64/by-hash/SHA256/not-hex", FileClass::kIndex},
      {"dists/bookworm/main/binary-amd64/by-hash/SHA256/abc", FileClass::kIndex},
      {"debian/dists/bookworm/InRelease", FileClass::kRoot},
      {"dists/bookworm/Release", FileClass::kRoot},
      {"dists/bookworm/Release.gpg", FileClass::kRoot},
      {"dists/bookworm/updates/InRelease", FileClass::kRoot},
      {"InRelease", FileClass::kIndex},  // not under dists/
      {"dists/bookworm/main/binary-amd64/Packages", FileClass::kIndex},
      {"dists/bookworm/main/binary-amd64/Packages.xz", FileClass::kIndex},
      {"dists/bookworm/main/binary-amd64/Release", FileClass::kRoot},
      {"dists/bookworm/main/Contents-amd64.gz", FileClass::kIndex},
      {"dists/bookworm/main/i18n/Translation-en.bz2", FileClass::kIndex},
      {"pool/README", FileClass::kIndex},
      // yum
      {"el9/x86_64/Packages/b/bash-5.1-1.el9.x86_64.rpm", FileClass::kBlob},
      {"drpms/bash-5.1-1_5.1-2.x86_64.drpm", FileClass::kBlob},
      {"SRPMS/bash-5.1-1.src.rpm", FileClass::kBlob},
      {"bash-5.1-1.srpm", FileClass::kBlob},
      {by_hash_rpm.c_str(), FileClass::kBlob},
      {by_hash_short.c_str(), FileClass::kIndex},
      {"repodata/primary.xml.gz", FileClass::kIndex},
      {"repodata/comps.xml", FileClass::kIndex},
      {"el9/repodata/repomd.xml", FileClass::kRoot},
      {"repodata/repomd.xml.asc", FileClass::kRoot},
      {"repodata/repomd.xml.key", FileClass::kRoot},
      {"repomd.xml", FileClass::kIndex},  // not under repodata/
      // PyPI
      {pypi.c_str(), FileClass::kBlob},
      {"pypi/packages/py3/p/pkg/pkg-1.0-py3-none-any.whl", FileClass::kBlob},
      {"pkg-1.0-py3-none-any.whl", FileClass::kBlob},
      {"packages/ab/cd/ef/pkg-1.0-py3-none-any.whl.metadata", FileClass::kBlob},
      {"simple/pkg/", FileClass::kIndex},
      {"simple/pkg/index.html", FileClass::kIndex},
      {"simple/index.html", FileClass::kIndex},
      {"pypi/simple/packages", FileClass::kIndex},
      // conda
      {"conda-forge/linux-64/numpy-1.26.0-py311_0.conda", FileClass::kBlob},
      {"conda-forge/linux-64/numpy-1.20.0-py39_0.tar.bz2", FileClass::kBlob},
      {"conda-forge/linux-64/repodata.json", FileClass::kIndex},
      {"conda-forge/linux-64/repodata.json.bz2", FileClass::kIndex},
      {"conda-forge/linux-64/repodata.json.zst", FileClass::kIndex},
      {"conda-forge/linux-64/current_repodata.json", FileClass::kIndex},
      {"conda-forge/channeldata.json", FileClass::kIndex},
      // npm
      {"left-pad/-/left-pad-1.3.0.tgz", FileClass::kBlob},
      {"@scope/pkg/-/pkg-1.0.0.tgz", FileClass::kBlob},
      {"left-pad", FileClass::kIndex},
      {"@scope%2fpkg", FileClass::kIndex},
      // crates
      {"crates/serde/serde-1.0.0.crate", FileClass::kBlob},
      {"config.json", FileClass::kIndex},
      // misc
      {"", FileClass::kIndex},
      {"README", FileClass::kIndex},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(file_class_name(classify_path(c.rel)), std::string(file_class_name(c.cls))) << c.rel;
  }
}

TEST(FileClass, Names) {
  EXPECT_STREQ(file_class_name(FileClass::kBlob), "blob");
  EXPECT_STREQ(file_class_name(FileClass::kRoot), "root");
  EXPECT_STREQ(file_class_name(FileClass::kIndex), "index");
}

}  // namespace
}  // namespace depot
