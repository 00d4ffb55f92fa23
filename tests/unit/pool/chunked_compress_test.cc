#include "pool/chunked_compress.h"

#include <gtest/gtest.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include <sstream>
#include <thread>
#include <vector>

#include "core/file_io.h"
#include "core/subprocess.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;

constexpr char kAptHelper[] = "/usr/lib/apt/apt-helper";

// Packages-like paragraphs numbered [first, first + count), with pseudo-random digests so the
// text compresses like a real index rather than like a repeated pattern.
std::string packages_text(int first, int count) {
  uint64_t state = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(first);
  auto hex = [&state](int n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      s.push_back(kHex[(state >> 60) & 0xf]);
    }
    return s;
  };
  std::string out;
  for (int i = first; i < first + count; ++i) {
    std::string name = "pkg" + std::to_string(i % 97) + "-tool" + std::to_string(i);
    std::string version = std::to_string(1 + i % 5) + "." + std::to_string(i % 13) + "-" +
                          std::to_string(1 + i % 3);
    out += "Package: " + name + "\nVersion: " + version +
           "\nArchitecture: amd64\nMaintainer: Example Team <team@example.org>\n"
           "Installed-Size: " + std::to_string(100 + i * 7 % 9000) +
           "\nDepends: libc6 (>= 2.36), libssl3 (>= 3.0.0), lib" + name + "-common (= " +
           version + ")\nPriority: optional\nSection: utils\nFilename: pool/main/p/" + name +
           "/" + name + "_" + version + "_amd64.deb\nSize: " + std::to_string(2000 + i * 31) +
           "\nMD5sum: " + hex(32) + "\nSHA256: " + hex(64) + "\nDescription: tool number " +
           std::to_string(i) + " for testing\n A longer description of " + name +
           " that spans\n a couple of lines.\n\n";
  }
  return out;
}

// The pieces of one index: an empty chunk, a 1-byte one, and three of a few hundred KiB.
std::vector<std::string> sample_pieces() {
  return {"", packages_text(0, 700), "x", "", packages_text(700, 800), packages_text(1500, 650)};
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string s;
  for (const auto& p : pieces) s += p;
  return s;
}

template <class T>
std::vector<const T*> ptrs(const std::vector<T>& v) {
  std::vector<const T*> out;
  for (const T& x : v) out.push_back(&x);
  return out;
}

std::vector<GzipChunk> gzip_chunks(const std::vector<std::string>& pieces, int level) {
  std::vector<GzipChunk> out;
  for (const auto& p : pieces) {
    auto c = gzip_chunk(p, level);
    EXPECT_TRUE(c.ok()) << c.error().message;
    out.push_back(std::move(c).value());
  }
  return out;
}

std::vector<XzChunk> xz_chunks(const std::vector<std::string>& pieces, uint32_t preset) {
  std::vector<XzChunk> out;
  for (const auto& p : pieces) {
    auto c = xz_chunk(p, preset);
    EXPECT_TRUE(c.ok()) << c.error().message;
    out.push_back(std::move(c).value());
  }
  return out;
}

struct Decoded {
  std::string out;
  bool stream_end = false;  // the decoder reported the end of the (single) member/stream
  size_t left = 0;          // input bytes not consumed
};

// zlib with windowBits 31: one gzip member only, no concatenation.
Decoded zlib_gunzip(std::string_view gz) {
  Decoded d;
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::vector<char> buf(1 << 16);
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    d.out.append(buf.data(), buf.size() - z.avail_out);
  } while (rc == Z_OK);
  d.stream_end = rc == Z_STREAM_END;
  d.left = z.avail_in;
  inflateEnd(&z);
  return d;
}

// liblzma's stream decoder without LZMA_CONCATENATED: exactly one stream.
Decoded lzma_unxz(std::string_view xz) {
  Decoded d;
  lzma_stream s = LZMA_STREAM_INIT;
  EXPECT_EQ(lzma_stream_decoder(&s, UINT64_MAX, 0), LZMA_OK);
  s.next_in = reinterpret_cast<const uint8_t*>(xz.data());
  s.avail_in = xz.size();
  std::vector<uint8_t> buf(1 << 16);
  lzma_ret rc;
  do {
    s.next_out = buf.data();
    s.avail_out = buf.size();
    rc = lzma_code(&s, LZMA_FINISH);
    d.out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - s.avail_out);
  } while (rc == LZMA_OK);
  d.stream_end = rc == LZMA_STREAM_END;
  d.left = s.avail_in;
  lzma_end(&s);
  return d;
}

ProcessResult run(const std::vector<std::string>& argv) {
  auto r = run_process(argv);
  EXPECT_TRUE(r.ok()) << argv[0] << ": " << r.error().message;
  return r.ok() ? std::move(r).value() : ProcessResult{};
}

std::string write_temp(const TempDir& dir, const std::string& name, std::string_view data) {
  std::string path = (dir.path() / name).string();
  EXPECT_TRUE(write_whole_file(path, data).ok());
  return path;
}

// The "file" line of `xz --robot --list`: streams, blocks, ... as fields.
std::vector<std::string> xz_list_file_line(const std::string& path) {
  ProcessResult r = run({"xz", "--robot", "--list", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream f(line);
    for (std::string x; std::getline(f, x, '\t');) fields.push_back(x);
    if (!fields.empty() && fields[0] == "file") return fields;
  }
  ADD_FAILURE() << "no file line in: " << r.out;
  return {};
}

TEST(ChunkedCompressTest, GzipIsOneStandardMember) {
  const auto pieces = sample_pieces();
  const std::string input = joined(pieces);
  const auto chunks = gzip_chunks(pieces, 6);
  const std::string gz = gzip_assemble(ptrs(chunks));

  ASSERT_GE(gz.size(), 20u);
  EXPECT_EQ(gz.substr(0, 10), std::string("\x1f\x8b\x08\0\0\0\0\0\0\x03", 10));
  Decoded d = zlib_gunzip(gz);
  EXPECT_TRUE(d.stream_end);
  EXPECT_EQ(d.left, 0u);
  EXPECT_TRUE(d.out == input) << "inflated " << d.out.size() << " of " << input.size();

  TempDir dir;
  std::string path = write_temp(dir, "Packages.gz", gz);
  ProcessResult t = run({"gzip", "-t", path});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  ProcessResult dc = run({"gzip", "-dc", path});
  EXPECT_EQ(dc.exit_code, 0) << dc.err;
  EXPECT_TRUE(dc.out == input) << "gzip -dc gave " << dc.out.size() << " of " << input.size();
}

TEST(ChunkedCompressTest, XzIsOneStreamWithOneBlockPerNonEmptyChunk) {
  const auto pieces = sample_pieces();
  const std::string input = joined(pieces);
  const auto chunks = xz_chunks(pieces, 6);
  auto xz = xz_assemble(ptrs(chunks));
  ASSERT_TRUE(xz.ok()) << xz.error().message;

  Decoded d = lzma_unxz(*xz);
  EXPECT_TRUE(d.stream_end);
  EXPECT_EQ(d.left, 0u);
  EXPECT_TRUE(d.out == input) << "decoded " << d.out.size() << " of " << input.size();

  TempDir dir;
  std::string path = write_temp(dir, "Packages.xz", *xz);
  ProcessResult t = run({"xz", "-t", path});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  ProcessResult dc = run({"xz", "-dc", path});
  EXPECT_TRUE(dc.out == input);
  std::vector<std::string> f = xz_list_file_line(path);
  ASSERT_GE(f.size(), 7u);
  EXPECT_EQ(f[1], "1");  // streams
  EXPECT_EQ(f[2], "4");  // blocks: the non-empty chunks
  EXPECT_EQ(f[3], std::to_string(xz->size()));
  EXPECT_EQ(f[4], std::to_string(input.size()));
  EXPECT_EQ(f[6], "CRC64");
}

TEST(ChunkedCompressTest, AptReadsBothFormats) {
  if (::access(kAptHelper, X_OK) != 0) GTEST_SKIP() << kAptHelper << " is not installed";
  const auto pieces = sample_pieces();
  const std::string input = joined(pieces);
  const auto gzc = gzip_chunks(pieces, 9);
  const auto xzc = xz_chunks(pieces, 2);
  auto xz = xz_assemble(ptrs(xzc));
  ASSERT_TRUE(xz.ok()) << xz.error().message;
  TempDir dir;
  for (const auto& [name, data] : {std::pair<std::string, std::string>{"Packages.gz",
                                                                       gzip_assemble(ptrs(gzc))},
                                   {"Packages.xz", *xz}}) {
    SCOPED_TRACE(name);
    ProcessResult r = run({kAptHelper, "cat-file", write_temp(dir, name, data)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out == input) << "apt-helper gave " << r.out.size() << " of " << input.size();
  }
}

TEST(ChunkedCompressTest, NoChunksOrOnlyEmptyOnesGiveEmptyFiles) {
  const auto empty_gz = gzip_chunks({"", ""}, 9);
  const auto empty_xz = xz_chunks({"", ""}, 6);
  EXPECT_EQ(empty_gz[0], GzipChunk{});
  EXPECT_EQ(empty_xz[0], XzChunk{});
  std::string gz = gzip_assemble({});
  EXPECT_EQ(gzip_assemble(ptrs(empty_gz)), gz);
  auto xz = xz_assemble({});
  ASSERT_TRUE(xz.ok()) << xz.error().message;
  auto xz2 = xz_assemble(ptrs(empty_xz));
  ASSERT_TRUE(xz2.ok());
  EXPECT_EQ(*xz2, *xz);

  Decoded g = zlib_gunzip(gz);
  EXPECT_TRUE(g.stream_end);
  EXPECT_EQ(g.left, 0u);
  EXPECT_EQ(g.out, "");
  Decoded x = lzma_unxz(*xz);
  EXPECT_TRUE(x.stream_end);
  EXPECT_EQ(x.left, 0u);
  EXPECT_EQ(x.out, "");

  TempDir dir;
  std::string gz_path = write_temp(dir, "Packages.gz", gz);
  std::string xz_path = write_temp(dir, "Packages.xz", *xz);
  EXPECT_EQ(run({"gzip", "-t", gz_path}).exit_code, 0);
  EXPECT_EQ(run({"gzip", "-dc", gz_path}).out, "");
  EXPECT_EQ(run({"xz", "-t", xz_path}).exit_code, 0);
  std::vector<std::string> f = xz_list_file_line(xz_path);
  ASSERT_GE(f.size(), 3u);
  EXPECT_EQ(f[1], "1");
  EXPECT_EQ(f[2], "0");
}

TEST(ChunkedCompressTest, MixedLevelsAndPresetsInOneFile) {
  const std::vector<std::string> pieces = {packages_text(0, 50), packages_text(50, 60),
                                           packages_text(110, 40)};
  const std::string input = joined(pieces);
  std::vector<GzipChunk> gz;
  std::vector<XzChunk> xz;
  const int levels[] = {1, 9, 4};
  const uint32_t presets[] = {0, 6 | LZMA_PRESET_EXTREME, 9};
  for (size_t i = 0; i < pieces.size(); ++i) {
    gz.push_back(*gzip_chunk(pieces[i], levels[i]));
    xz.push_back(*xz_chunk(pieces[i], presets[i]));
  }
  Decoded g = zlib_gunzip(gzip_assemble(ptrs(gz)));
  EXPECT_TRUE(g.stream_end && g.left == 0 && g.out == input);
  auto x = xz_assemble(ptrs(xz));
  ASSERT_TRUE(x.ok());
  Decoded xd = lzma_unxz(*x);
  EXPECT_TRUE(xd.stream_end && xd.left == 0 && xd.out == input);
}

TEST(ChunkedCompressTest, DeterministicAndSafeToRunConcurrently) {
  const auto pieces = sample_pieces();
  const auto gz1 = gzip_chunks(pieces, 9);
  const auto xz1 = xz_chunks(pieces, 6);
  std::vector<GzipChunk> gz2(pieces.size());
  std::vector<XzChunk> xz2(pieces.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pieces.size(); ++i) {
    threads.emplace_back([&, i] {
      gz2[i] = *gzip_chunk(pieces[i], 9);
      xz2[i] = *xz_chunk(pieces[i], 6);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(gz1, gz2);
  EXPECT_EQ(xz1, xz2);
  EXPECT_EQ(gzip_assemble(ptrs(gz1)), gzip_assemble(ptrs(gz2)));
  EXPECT_EQ(*xz_assemble(ptrs(xz1)), *xz_assemble(ptrs(xz2)));
  // A chunk restored from its cache encoding assembles into the same bytes.
  std::vector<GzipChunk> gz3;
  std::vector<XzChunk> xz3;
  for (size_t i = 0; i < pieces.size(); ++i) {
    gz3.push_back(*decode_gzip_chunk(encode_chunk(gz1[i]), "cache"));
    xz3.push_back(*decode_xz_chunk(encode_chunk(xz1[i]), "cache"));
  }
  EXPECT_EQ(gzip_assemble(ptrs(gz1)), gzip_assemble(ptrs(gz3)));
  EXPECT_EQ(*xz_assemble(ptrs(xz1)), *xz_assemble(ptrs(xz3)));
  EXPECT_EQ(encode_chunk(gz1[1]), encode_chunk(gz2[1]));
  EXPECT_EQ(encode_chunk(xz1[1]), encode_chunk(xz2[1]));
}

TEST(ChunkedCompressTest, RejectsBadLevelsPresetsAndMismatchedXzChunks) {
  for (int level : {0, -1, 10}) {
    auto r = gzip_chunk("abc", level);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  for (uint32_t preset : {10u, 10u | LZMA_PRESET_EXTREME, 1u << 20}) {
    auto r = xz_chunk("abc", preset);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  XzChunk c = *xz_chunk("some text", 6);
  XzChunk bad = c;
  bad.unpadded_size += 4;
  const XzChunk* one[] = {&bad};
  auto r = xz_assemble(one);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

template <class Chunk, class Decode>
void expect_cache_checks(const Chunk& chunk, const std::string& other_kind, Decode decode) {
  const std::string bytes = encode_chunk(chunk);
  auto ok = decode(bytes, "chunks/ab12");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, chunk);
  auto expect_rejected = [&](std::string_view damaged, const std::string& how) {
    auto r = decode(damaged, "chunks/ab12");
    ASSERT_FALSE(r.ok()) << how;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << how;
    EXPECT_NE(r.error().message.find("chunks/ab12"), std::string::npos) << r.error().message;
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    expect_rejected(flipped, "flipped byte " + std::to_string(i));
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    expect_rejected(std::string_view(bytes).substr(0, n), "truncated to " + std::to_string(n));
  }
  expect_rejected(bytes + '\0', "one byte appended");
  expect_rejected(other_kind, "the other kind");
}

TEST(ChunkedCompressTest, CacheEncodingDetectsDamage) {
  const std::string text = packages_text(0, 2);
  GzipChunk gz = *gzip_chunk(text, 9);
  XzChunk xz = *xz_chunk(text, 6);
  expect_cache_checks(gz, encode_chunk(xz), decode_gzip_chunk);
  expect_cache_checks(xz, encode_chunk(gz), decode_xz_chunk);
  expect_cache_checks(GzipChunk{}, encode_chunk(XzChunk{}), decode_gzip_chunk);
  expect_cache_checks(XzChunk{}, encode_chunk(GzipChunk{}), decode_xz_chunk);
}

// Found by fuzz/chunk_decode_fuzz: a cache file with a matching checksum but a size above
// INT64_MAX reached zlib's crc32_combine as a negative length, which never returns.
TEST(ChunkedCompressTest, CacheEntryWithAbsurdSizeIsRefused) {
  GzipChunk huge{"x", 0x72cdbb6a, 0xffffff1400000000};
  auto r = decode_gzip_chunk(encode_chunk(huge), "chunks/ab12");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  GzipChunk big{"x", 1, uint64_t{1} << 40};
  EXPECT_TRUE(decode_gzip_chunk(encode_chunk(big), "chunks/ab12").ok());
}

}  // namespace
}  // namespace depot::pool
