#include "sources/decompress.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/subprocess.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

class Decompress : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& data) {
    fs::path p = dir_.path() / name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  // Compresses `data` with the command-line tool (gzip, xz, bzip2, zstd); returns the file.
  fs::path compressed(const std::string& tool, const std::string& data) {
    fs::path p = write("plain-" + tool, data);
    auto r = run_process({tool, "-q", "-k", "-f", p.string()});
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << tool;
    for (const char* ext : {".gz", ".xz", ".bz2", ".zst"}) {
      if (fs::exists(p.string() + ext)) return p.string() + ext;
    }
    ADD_FAILURE() << tool << " produced nothing";
    return p;
  }
  Result<std::string> read(const fs::path& p, uint64_t max = 1ull << 30) {
    std::string out;
    DEPOT_TRY(read_decompressed(p, "NAME", [&](std::string_view c) {
      out.append(c);
      return ok_status();
    }, max));
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(Decompress, EveryCompressionAndPlain) {
  std::string data;
  for (int i = 0; i < 20000; ++i) data += "Package: p" + std::to_string(i) + "\n\n";
  for (const char* tool : {"gzip", "xz", "bzip2", "zstd"}) {
    auto got = read(compressed(tool, data));
    ASSERT_TRUE(got.ok()) << tool << ": " << got.error().to_string();
    EXPECT_EQ(*got, data) << tool;
  }
  auto plain = read(write("plain", data));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, data);
}

TEST_F(Decompress, EmptyFileIsEmpty) {
  auto got = read(write("empty", ""));
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(*got, "");
}

TEST_F(Decompress, TruncatedDataIsAnErrorNamingTheFile) {
  fs::path gz = compressed("gzip", std::string(100000, 'x') + "tail");
  fs::resize_file(gz, fs::file_size(gz) / 2);
  auto got = read(gz);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("NAME"), std::string::npos);
}

TEST_F(Decompress, BombIsCut) {
  fs::path xz = compressed("xz", std::string(10 << 20, '\0'));
  auto got = read(xz, 1 << 20);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("more than"), std::string::npos);
}

}  // namespace
}  // namespace depot
