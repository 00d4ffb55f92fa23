#include "pool/deb_reader.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "core/subprocess.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;

const char kControl[] =
    "Package: hello-depot\n"
    "Version: 1:2.10-3+deb12u1\n"
    "Architecture: amd64\n"
    "Maintainer: Depot Tests <tests@example.org>\n"
    "Installed-Size: 12\n"
    "Depends: libc6 (>= 2.34), foo | bar\n"
    "Section: utils\n"
    "Priority: optional\n"
    "Description: a test package\n"
    " It has a long description\n"
    " .\n"
    " over several lines.\n";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, std::string_view data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

// One-shot OpenSSL digest, independent of the Hasher under test.
std::string openssl_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &len, md, nullptr), 1);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

void run_ok(const std::vector<std::string>& argv) {
  auto r = run_process(argv);
  ASSERT_TRUE(r.ok()) << argv[0] << ": " << r.error().to_string();
  ASSERT_EQ(r->exit_code, 0) << argv[0] << ": " << r->err;
}

// One ar member header + body, as dpkg-deb writes them.
std::string ar_member(const std::string& name, std::string_view body) {
  char header[61];
  std::snprintf(header, sizeof header, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name.c_str(), "0", "0",
                "0", "100644", body.size());
  std::string out(header, 60);
  out.append(body);
  if (body.size() % 2) out += '\n';
  return out;
}

class DebReader : public ::testing::Test {
 protected:
  // Builds a real package with dpkg-deb and the given -Z compression.
  fs::path build(const std::string& compression, const std::string& control = kControl) {
    fs::path root = dir_.path() / ("root-" + compression);
    fs::create_directories(root / "DEBIAN");
    fs::create_directories(root / "usr/share/doc/hello-depot");
    spit(root / "DEBIAN/control", control);
    spit(root / "usr/share/doc/hello-depot/README", "hello\n");
    fs::path out = dir_.path() / ("hello-depot_" + compression + "_amd64.deb");
    run_ok({"dpkg-deb", "--root-owner-group", "-Z" + compression, "--build", root.string(),
            out.string()});
    return out;
  }

  // A control.tar.<ext> holding ./control with `control` (raw bytes, not validated).
  std::string control_tar(std::string_view control, const std::string& compressor = "gzip") {
    fs::path d = dir_.path() / ("ctl" + std::to_string(counter_++));
    fs::create_directories(d);
    spit(d / "control", control);
    fs::path tar = d.string() + ".tar";
    run_ok({"tar", "-C", d.string(), "--format=gnu", "--owner=0", "--group=0", "-cf", tar.string(),
            "./control"});
    if (compressor == "none") return slurp(tar);
    run_ok({compressor, "-q", "-f", tar.string()});
    for (const char* ext : {".gz", ".xz", ".bz2", ".zst"}) {
      if (fs::exists(tar.string() + ext)) return slurp(tar.string() + ext);
    }
    ADD_FAILURE() << compressor << " produced nothing";
    return {};
  }

  std::string data_tar() {
    fs::path d = dir_.path() / "data-root";
    fs::create_directories(d);
    fs::path tar = dir_.path() / "data.tar";
    run_ok({"tar", "-C", d.string(), "--format=gnu", "-cf", tar.string(), "."});
    return slurp(tar);
  }

  // A hand-made .deb: "!<arch>\n" and the members given.
  fs::path ar(const std::string& name,
              const std::vector<std::pair<std::string, std::string>>& members) {
    std::string bytes = "!<arch>\n";
    for (const auto& [n, body] : members) bytes += ar_member(n, body);
    fs::path p = dir_.path() / name;
    spit(p, bytes);
    return p;
  }

  fs::path handmade(const std::string& name, std::string_view control) {
    return ar(name, {{"debian-binary", "2.0\n"},
                     {"control.tar.gz", control_tar(control)},
                     {"data.tar", data_tar()}});
  }

  void expect_package(const fs::path& deb) {
    auto pkg = read_deb(deb);
    ASSERT_TRUE(pkg.ok()) << pkg.error().to_string();
    EXPECT_EQ(pkg->format, "deb");
    EXPECT_EQ(pkg->name, "hello-depot");
    EXPECT_EQ(pkg->version, "1:2.10-3+deb12u1");
    EXPECT_EQ(pkg->architecture, "amd64");
    const std::vector<std::pair<std::string, std::string>> fields{
        {"Package", "hello-depot"},
        {"Version", "1:2.10-3+deb12u1"},
        {"Architecture", "amd64"},
        {"Maintainer", "Depot Tests <tests@example.org>"},
        {"Installed-Size", "12"},
        {"Depends", "libc6 (>= 2.34), foo | bar"},
        {"Section", "utils"},
        {"Priority", "optional"},
        {"Description", "a test package\n It has a long description\n .\n over several lines."},
    };
    EXPECT_EQ(pkg->fields, fields);
    const std::string bytes = slurp(deb);
    EXPECT_EQ(pkg->file.filename, deb.filename().string());
    EXPECT_EQ(pkg->file.size, bytes.size());
    EXPECT_EQ(pkg->file.digests.md5, openssl_hex(EVP_md5(), bytes));
    EXPECT_EQ(pkg->file.digests.sha1, openssl_hex(EVP_sha1(), bytes));
    EXPECT_EQ(pkg->file.digests.sha256, openssl_hex(EVP_sha256(), bytes));
    EXPECT_EQ(pkg->file.digests.sha512, openssl_hex(EVP_sha512(), bytes));
  }

  // read_deb fails with kParse, naming the file and containing `what`.
  void expect_refused(const fs::path& deb, const std::string& what) {
    auto pkg = read_deb(deb);
    ASSERT_FALSE(pkg.ok()) << deb;
    EXPECT_EQ(pkg.error().code, ErrorCode::kParse) << pkg.error().to_string();
    EXPECT_NE(pkg.error().message.find(deb.string()), std::string::npos) << pkg.error().message;
    EXPECT_NE(pkg.error().message.find(what), std::string::npos) << pkg.error().message;
  }

  testing::TempDir dir_;
  int counter_ = 0;
};

TEST_F(DebReader, XzPackage) { expect_package(build("xz")); }
TEST_F(DebReader, GzipPackage) { expect_package(build("gzip")); }
TEST_F(DebReader, ZstdPackage) { expect_package(build("zstd")); }
TEST_F(DebReader, UncompressedPackage) { expect_package(build("none")); }

TEST_F(DebReader, HandmadeBzip2ControlAndLaterFormatMinor) {
  fs::path deb = ar("bz2.deb", {{"debian-binary", "2.1\n"},
                                {"_extra", "ignored"},
                                {"control.tar.bz2", control_tar(kControl, "bzip2")},
                                {"data.tar", data_tar()}});
  expect_package(deb);
}

TEST_F(DebReader, ArchAllAndNoEpoch) {
  auto pkg = read_deb(handmade("all.deb",
                               "Package: a0\nVersion: 0.1~rc1\nArchitecture: all\n"
                               "Description: x\n"));
  ASSERT_TRUE(pkg.ok()) << pkg.error().to_string();
  EXPECT_EQ(pkg->name, "a0");
  EXPECT_EQ(pkg->version, "0.1~rc1");
  EXPECT_EQ(pkg->architecture, "all");
  EXPECT_EQ(pkg->fields.size(), 4u);
}

TEST_F(DebReader, ReadsFromManyThreads) {
  fs::path deb = build("xz");
  const std::string expected = openssl_hex(EVP_sha256(), slurp(deb));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto pkg = read_deb(deb);
        if (pkg.ok() && pkg->file.digests.sha256 == expected) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 20);
}

TEST_F(DebReader, MissingFileIsNotFound) {
  auto pkg = read_deb(dir_.path() / "absent.deb");
  ASSERT_FALSE(pkg.ok());
  EXPECT_EQ(pkg.error().code, ErrorCode::kNotFound);
}

TEST_F(DebReader, DirectoryIsAnIoError) {
  auto pkg = read_deb(dir_.path());
  ASSERT_FALSE(pkg.ok());
  EXPECT_EQ(pkg.error().code, ErrorCode::kIo);
}

TEST_F(DebReader, EmptyFile) {
  spit(dir_.path() / "empty.deb", "");
  expect_refused(dir_.path() / "empty.deb", "empty");
}

TEST_F(DebReader, PlainTarIsNotAnArArchive) {
  fs::path tar = dir_.path() / "plain.deb";
  spit(tar, data_tar());
  expect_refused(tar, "not an ar archive");
}

TEST_F(DebReader, TruncatedAtSeveralOffsets) {
  const std::string bytes = slurp(build("xz"));
  // Layout: 8-byte magic, debian-binary (60 + 4), control.tar.xz header at 72, data after.
  const size_t control_size = std::stoul(bytes.substr(72 + 48, 10));
  const size_t data_header = 132 + control_size + control_size % 2;
  const size_t data_size = std::stoul(bytes.substr(data_header + 48, 10));
  ASSERT_EQ(data_header + 60 + data_size + data_size % 2, bytes.size());
  const std::vector<std::pair<size_t, std::string>> cuts{
      {1, "not an ar archive"},
      {7, "not an ar archive"},
      {8, "without members"},
      {40, "truncated"},
      {70, "truncated"},
      {100, "truncated"},
      {132 + control_size / 2, "truncated"},
      {data_header, "no data.tar"},
      {data_header + 30, "truncated"},
      {data_header + 60 + data_size / 2, "truncated"},
      {bytes.size() - 10, "truncated"},
  };
  for (const auto& [cut, what] : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    fs::path p = dir_.path() / ("cut-" + std::to_string(cut) + ".deb");
    spit(p, std::string_view(bytes).substr(0, cut));
    expect_refused(p, what);
  }
}

TEST_F(DebReader, TrailingBytesOrMissingPadding) {
  const std::string bytes = slurp(build("gzip"));
  spit(dir_.path() / "trailing.deb", bytes + "garbage!!\n");
  expect_refused(dir_.path() / "trailing.deb", "10 stray bytes");
  // An odd-sized last member must be followed by its padding byte.
  std::string odd = slurp(ar("odd.deb", {{"debian-binary", "2.0\n"},
                                         {"control.tar.gz", control_tar(kControl)},
                                         {"data.tar.xz", "x"}}));
  ASSERT_EQ(odd.back(), '\n');
  odd.pop_back();
  spit(dir_.path() / "nopad.deb", odd);
  expect_refused(dir_.path() / "nopad.deb", "truncated");
}

TEST_F(DebReader, ArWithoutControlTar) {
  expect_refused(ar("noctl.deb", {{"debian-binary", "2.0\n"}, {"data.tar", data_tar()}}),
                 "misordered");
  expect_refused(ar("only.deb", {{"debian-binary", "2.0\n"}}), "no control.tar");
}

TEST_F(DebReader, MissingOrMisorderedMembers) {
  const std::string ctl = control_tar(kControl);
  expect_refused(ar("first.deb", {{"control.tar.gz", ctl}, {"debian-binary", "2.0\n"}}),
                 "not debian-binary");
  expect_refused(ar("nodata.deb", {{"debian-binary", "2.0\n"}, {"control.tar.gz", ctl}}),
                 "no data.tar");
  expect_refused(ar("twice.deb", {{"debian-binary", "2.0\n"},
                                  {"control.tar.gz", ctl},
                                  {"control.tar.gz", ctl},
                                  {"data.tar", data_tar()}}),
                 "repeated");
  expect_refused(ar("extra.deb", {{"debian-binary", "2.0\n"},
                                  {"control.tar.gz", ctl},
                                  {"data.tar", data_tar()},
                                  {"evil", "x"}}),
                 "unexpected member 'evil'");
}

TEST_F(DebReader, UnsupportedFormatOrCompression) {
  const std::string ctl = control_tar(kControl);
  expect_refused(ar("v3.deb", {{"debian-binary", "3.0\n"}, {"control.tar.gz", ctl}}),
                 "unsupported package format version '3.0'");
  expect_refused(ar("lz4.deb", {{"debian-binary", "2.0\n"}, {"control.tar.lz4", ctl}}),
                 "unsupported compression of member control.tar.lz4");
  expect_refused(
      ar("dlz4.deb", {{"debian-binary", "2.0\n"}, {"control.tar.gz", ctl}, {"data.tar.lz4", "x"}}),
      "unsupported compression of member data.tar.lz4");
  // A gzip stream under an .xz name is refused, as dpkg would.
  expect_refused(
      ar("liar.deb",
         {{"debian-binary", "2.0\n"}, {"control.tar.xz", ctl}, {"data.tar", data_tar()}}),
      "is not xz");
  expect_refused(ar("garbage.deb", {{"debian-binary", "2.0\n"},
                                    {"control.tar.gz", "not gzip at all"},
                                    {"data.tar", data_tar()}}),
                 "control.tar.gz");
}

TEST_F(DebReader, ControlFileMissing) {
  fs::path d = dir_.path() / "noctl";
  fs::create_directories(d);
  spit(d / "md5sums", "x\n");
  run_ok({"tar", "-C", d.string(), "-czf", (dir_.path() / "c.tar.gz").string(), "./md5sums"});
  expect_refused(ar("missing.deb", {{"debian-binary", "2.0\n"},
                                    {"control.tar.gz", slurp(dir_.path() / "c.tar.gz")},
                                    {"data.tar", data_tar()}}),
                 "control file missing");
}

TEST_F(DebReader, ControlWithIndexFieldsRefused) {
  for (const char* field :
       {"Filename: pool/x.deb", "Size: 10", "MD5sum: 00", "SHA256: 00", "sha1: 00", "SHA512: 00"}) {
    SCOPED_TRACE(field);
    std::string control = std::string(kControl) + field + "\n";
    expect_refused(handmade(std::string("idx-") + std::to_string(counter_) + ".deb", control),
                   "belongs in a repository index");
  }
}

TEST_F(DebReader, RequiredFieldsAndTheirSyntax) {
  expect_refused(handmade("nover.deb", "Package: a\nArchitecture: all\n"), "Version");
  expect_refused(handmade("nopkg.deb", "Version: 1\nArchitecture: all\n"), "Package");
  expect_refused(handmade("noarch.deb", "Package: ab\nVersion: 1\n"), "Architecture");
  expect_refused(handmade("badver.deb", "Package: ab\nVersion: banana!\nArchitecture: all\n"),
                 "invalid version 'banana!'");
  expect_refused(handmade("badname.deb", "Package: Foo_Bar\nVersion: 1\nArchitecture: all\n"),
                 "invalid package name 'Foo_Bar'");
  expect_refused(handmade("badarch.deb", "Package: ab\nVersion: 1\nArchitecture: amd64 i386\n"),
                 "invalid architecture");
}

// Found by fuzz/deb_control_fuzz: the Source name becomes a directory of the pool path the
// publisher links the file at, so "Source: ../../x" or a control byte in it escaped the pool.
TEST_F(DebReader, SourceFieldIsAPackageNameAndOptionalVersion) {
  const std::string base = "Package: tiny\nVersion: 1:1.2-3~b1\nArchitecture: amd64\n";
  for (const char* bad : {"Source: ../../../../tmp/evil",
                          "Source: tiny-src \xbe"
                          "1.2-3\x01",
                          "Source: a/b", "Source: Tiny", "Source: tiny (1.0", "Source: tiny (x)",
                          "Source: tiny (1.0) extra"}) {
    SCOPED_TRACE(bad);
    expect_refused(handmade("src" + std::to_string(counter_) + ".deb", base + bad + "\n"),
                   "invalid Source");
  }
  for (const char* good :
       {"Source: tiny-src", "Source: tiny-src (1.2-3)", "Source: lib.x+y ( 2:1 )"}) {
    SCOPED_TRACE(good);
    auto pkg = read_deb(handmade("src" + std::to_string(counter_) + ".deb", base + good + "\n"));
    EXPECT_TRUE(pkg.ok()) << pkg.error().to_string();
  }
}

// Found by fuzz/deb_control_fuzz: a comment line between a field and its continuation line
// was kept in the value, so the stored paragraph did not parse back and publishing failed.
TEST_F(DebReader, CommentLinesInsideAValueAreDropped) {
  auto pkg = read_deb(handmade("comment.deb",
                               "Package: tn\nVersion: 2\nArchitecture: all\nS: o\n#\n s\n"
                               "Description: d\n# c1\n more\n#c2\n .\n"));
  ASSERT_TRUE(pkg.ok()) << pkg.error().to_string();
  ASSERT_EQ(pkg->fields.size(), 5u);
  EXPECT_EQ(pkg->fields[3], (std::pair<std::string, std::string>{"S", "o\n s"}));
  EXPECT_EQ(pkg->fields[4], (std::pair<std::string, std::string>{"Description", "d\n more\n ."}));
}

// Found by fuzz/deb_control_fuzz: a 300-byte version made a pool file name longer than a file
// system allows, and the publication of the whole repository failed.
TEST_F(DebReader, PoolFileNameFitsAFileSystem) {
  const std::string v = "1." + std::string(300, '1');
  expect_refused(handmade("longver.deb", "Package: ab\nVersion: " + v + "\nArchitecture: all\n"),
                 "too long for a file name");
  expect_refused(handmade("longsrc.deb", "Package: ab\nVersion: 1\nArchitecture: all\nSource: " +
                                             std::string(300, 'a') + "\n"),
                 "invalid Source");
  const std::string fits = "1." + std::string(240, '1');  // "ab_<242 bytes>_all.udeb": 254 bytes
  EXPECT_TRUE(
      read_deb(handmade("fits.deb", "Package: ab\nVersion: " + fits + "\nArchitecture: all\n"))
          .ok());
}

TEST_F(DebReader, MalformedParagraphs) {
  expect_refused(handmade("two.deb",
                          "Package: ab\nVersion: 1\nArchitecture: all\n\n"
                          "Package: cd\n"),
                 "more than one paragraph");
  expect_refused(handmade("noline.deb", "Package: ab\nnot a field\n"), "expected 'Field: value'");
  expect_refused(handmade("dup.deb", "Package: ab\nVersion: 1\nversion: 2\nArchitecture: all\n"),
                 "twice");
  expect_refused(handmade("blank.deb", "\n\n"), "is empty");
}

TEST_F(DebReader, ControlLargerThanOneMiBRefused) {
  std::string control = "Package: ab\nVersion: 1\nArchitecture: all\nDescription: big\n";
  while (control.size() < (2u << 20)) control += " 0123456789abcdef0123456789abcdef\n";
  expect_refused(handmade("big.deb", control), "larger than 1 MiB");
}

// --- versions -----------------------------------------------------------------------------

struct VersionPair {
  const char* a;
  const char* b;
  int expected;  // sign of compare_versions(a, b)
};

const VersionPair kPairs[] = {
    {"1.0", "1.0", 0},
    {"1.0", "1.1", -1},
    {"1.10", "1.9", 1},
    {"1.0~rc1", "1.0", -1},
    {"1.0~rc1", "1.0~rc2", -1},
    {"1.0~~", "1.0~", -1},
    {"1.0~", "1.0", -1},
    {"1.0", "1.0+b1", -1},
    {"1.0", "1.0.1", -1},
    {"1.0-1", "1.0-2", -1},
    {"1.0-10", "1.0-9", 1},
    {"1:0.1", "2.0", 1},
    {"0:1.0", "1.0", 0},
    {"1.0", "1.0-0", 0},
    {"00:1.0", "0:1.0", 0},
    {"1.0a", "1.0", 1},
    {"1.0a", "1.0b", -1},
    {"1.0a", "1.0+", -1},
    {"1.0+", "1.0.", -1},
    {"1.0-1ubuntu1", "1.0-1", 1},
    {"1.0-1~bpo11+1", "1.0-1", -1},
    {"2.36-9", "2.36-9+deb12u4", -1},
    {"1.2.3", "1.2.3a", -1},
    {"1.001", "1.1", 0},
    {"1.0-1", "1.0.0-1", -1},
    {"10", "9", 1},
    {"1.0-a", "1.0-b", -1},
    {"7.6p2-4", "7.6-0", 1},
    {"1:1.0", "0:9.9", 1},
    {"2:0", "10:0", -1},
    {"1.0~alpha", "1.0~beta", -1},
    {"1.0~beta", "1.0~rc", -1},
    {"1.0-1+b1", "1.0-1.1", -1},
    {"3.0", "3.0~", 1},
    {"0.9.9~git20200101-1", "0.9.9-1", -1},
    {"1.2-3-4", "1.2-3-5", -1},
    {"1.2-3-4", "1.2-4-1", -1},
    {"9.9", "10", -1},
    {"1.0.0", "1.0", 1},
    {"0", "0", 0},
    {"1a", "1~", 1},
    {"1.0+dfsg-1", "1.0-1", 1},
    {"1.0+dfsg1-1", "1.0+dfsg-1", 1},
    {"1.18.4", "1.18.10", -1},
    {"4.2~", "4.2~~", 1},
    {"5.0+20200101", "5.0+20191231", 1},
    {"1.0-1a", "1.0-1A", 1},
    {"2.30-21", "2.30-21+deb12u1", -1},
    {"1:2.0~rc1-1", "1:2.0-0.1", -1},
    {"0.0001", "0.1", 0},
};

int sign(int v) { return (v > 0) - (v < 0); }

TEST(DebVersion, ComparesLikeTheTable) {
  for (const auto& p : kPairs) {
    EXPECT_EQ(sign(compare_versions(p.a, p.b)), p.expected) << p.a << " vs " << p.b;
    EXPECT_EQ(sign(compare_versions(p.b, p.a)), -p.expected) << p.b << " vs " << p.a;
    EXPECT_TRUE(valid_version(p.a)) << p.a;
    EXPECT_TRUE(valid_version(p.b)) << p.b;
  }
}

TEST(DebVersion, AgreesWithDpkg) {
  for (const auto& p : kPairs) {
    const int ours = sign(compare_versions(p.a, p.b));
    const char* op = ours < 0 ? "lt" : ours > 0 ? "gt" : "eq";
    auto r = run_process({"dpkg", "--compare-versions", p.a, op, p.b});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->exit_code, 0) << "dpkg disagrees: " << p.a << " " << op << " " << p.b << " "
                               << r->err;
  }
}

TEST(DebVersion, ValidSyntax) {
  for (const char* v : {"1.0", "0", "1:2.3-4", "1.0~rc1+dfsg-1ubuntu0.1", "2.30-21+deb12u1",
                        "1.2-3-4", "0:1", "10:1.0a", "2147483647:1", "1.0-0~bpo1"}) {
    EXPECT_TRUE(valid_version(v)) << v;
  }
  for (const char* v :
       {"",   "abc",     "1.0 beta",     ":1.0",          "1:",   "1.0-",  "a:1.0", "1_0",
        "-1", "1.0-1_2", "2147483648:1", "99999999999:1", "1:a1", "1:2:3", "1.0\n", "1.0/1",
        "~1", "1.0-1:2", " 1.0",         "1.0-1-"}) {
    EXPECT_FALSE(valid_version(v)) << v;
  }
}

TEST(DebVersion, ValidPackageNames) {
  for (const char* n : {"jq", "libc6", "g++", "libstdc++6", "python3.11", "0ad", "a-b.c+d"}) {
    EXPECT_TRUE(valid_package_name(n)) << n;
  }
  for (const char* n : {"", "a", "Foo", "-ab", ".ab", "a_b", "a b", "ab\n", "+ab"}) {
    EXPECT_FALSE(valid_package_name(n)) << n;
  }
}

}  // namespace
}  // namespace depot::pool
