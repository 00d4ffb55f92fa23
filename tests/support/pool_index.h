#pragma once
// Test helpers for the apt index writer (pool/apt_index, pool/packages_file): package records
// with a description and stand-in digests, their PackageText forms, the order of paragraphs in
// a Packages text, and decompression of what was written.

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/file_io.h"
#include "pool/paragraph.h"
#include "sources/decompress.h"
#include "support/pool_packages.h"
#include "support/temp_dir.h"

namespace depot::testing {

// deb_record plus `extra` fields and a two-line Description; size and digests made up from the
// file name.
inline pool::Package index_record(std::string name, std::string version, std::string arch,
                                  std::vector<std::pair<std::string, std::string>> extra = {}) {
  pool::Package p = deb_record(name, version, arch);
  p.fields.insert(p.fields.end(), extra.begin(), extra.end());
  p.fields.push_back({"Description", "test package " + name + "\n more text"});
  p.file.size = 1000 + name.size();
  p.file.digests = all_digests(p.file.filename);
  return p;
}

// PackageText forms of `v`, kept alive for the whole test program.
inline std::vector<const pool::PackageText*> text_ptrs(const std::vector<pool::Package>& v) {
  static std::deque<pool::PackageText> arena;
  std::vector<const pool::PackageText*> out;
  for (const auto& p : v) out.push_back(&arena.emplace_back(pool::package_text(p)));
  return out;
}

// "name version arch" of every paragraph of a Packages text, in order.
inline std::vector<std::string> paragraph_order(const std::string& packages) {
  std::vector<std::string> out;
  std::string cur;
  auto value = [&](size_t pos, size_t len) {
    return packages.substr(pos + len, packages.find('\n', pos) - pos - len);
  };
  for (size_t pos = 0; pos < packages.size(); pos = packages.find('\n', pos) + 1) {
    if (packages.compare(pos, 9, "Package: ") == 0) cur = value(pos, 9);
    if (packages.compare(pos, 9, "Version: ") == 0) cur += " " + value(pos, 9);
    if (packages.compare(pos, 14, "Architecture: ") == 0) out.push_back(cur + " " + value(pos, 14));
  }
  return out;
}

// `data` (gzip, xz, ...) decompressed through sources/decompress, via a file in `tmp`.
inline std::string decompressed(const std::string& data, const TempDir& tmp) {
  auto file = tmp.path() / "compressed";
  EXPECT_TRUE(write_whole_file(file, data).ok());
  std::string out;
  auto st = read_decompressed(file, file.string(), [&](std::string_view chunk) {
    out.append(chunk);
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return out;
}

}  // namespace depot::testing
