#include "sources/push_decompress.h"

#include <gtest/gtest.h>

#include "core/byte_source.h"
#include "sources/decompress.h"
#include "support/compress_tool.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using Format = PushDecompressor::Format;

const std::vector<std::pair<std::string, Format>> kTools = {
    {"gzip", Format::kGzip}, {"xz", Format::kXz}, {"bzip2", Format::kBzip2},
    {"zstd", Format::kZstd}, {"cat", Format::kPlain}};

std::string sample(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) {
    s += "<package><name>p" + std::to_string(i * 7919 % 100003) + "</name><size package=\"" +
         std::to_string(i * 31) + "\"/></package>\n";
  }
  return s;
}

// What read_decompressed makes of `bytes`.
Result<std::string> pull(const std::string& bytes, uint64_t max = 8ull << 30) {
  std::string out;
  auto in = memory_source(std::make_shared<const std::string>(bytes));
  DEPOT_TRY(read_decompressed(*in, "URL", [&](std::string_view c) {
    out.append(c);
    return ok_status();
  }, max));
  return out;
}

class PushDecompress : public ::testing::Test {
 protected:
  std::string compress(const std::string& tool, const std::string& data,
                       const std::vector<std::string>& args = {}) {
    return testing::compress_with(dir_.path(), tool, data, args);
  }
  // A decompressor named "URL" collecting into out_.
  std::unique_ptr<PushDecompressor> make(uint64_t max = 8ull << 30) {
    out_.clear();
    return std::make_unique<PushDecompressor>("URL", [this](std::string_view c) {
      out_.append(c);
      return ok_status();
    }, max);
  }
  // `bytes` pushed in pieces of `piece` bytes (0: pseudo-random sizes up to 64 KiB), then
  // finished; the output, or the first error.
  Result<std::string> push(const std::string& bytes, size_t piece, uint64_t max = 8ull << 30) {
    auto d = make(max);
    uint32_t state = 12345;
    for (size_t at = 0; at < bytes.size();) {
      size_t n = piece;
      if (n == 0) {
        state = state * 1103515245u + 12345u;
        n = (state >> 8) % (64 << 10) + 1;
      }
      n = std::min(n, bytes.size() - at);
      DEPOT_TRY(d->write(std::string_view(bytes).substr(at, n)));
      at += n;
    }
    DEPOT_TRY(d->finish());
    EXPECT_EQ(d->bytes_written(), bytes.size());
    EXPECT_EQ(d->bytes_out(), out_.size());
    return out_;
  }

  testing::TempDir dir_;
  std::string out_;
};

TEST_F(PushDecompress, EveryFormatInAnyPiecesEqualsReadDecompressed) {
  const std::string data = sample(20000);
  for (const auto& [tool, format] : kTools) {
    SCOPED_TRACE(tool);
    std::string z = compress(tool, data);
    auto d = make();
    ASSERT_TRUE(d->write(z).ok());
    EXPECT_EQ(d->format(), format);
    for (size_t piece : {size_t{1}, size_t{3}, size_t{0}, z.size()}) {
      auto got = push(z, piece);
      ASSERT_TRUE(got.ok()) << piece << ": " << got.error().message;
      EXPECT_EQ(*got, data) << "pieces of " << piece;
    }
    auto pulled = pull(z);
    ASSERT_TRUE(pulled.ok()) << pulled.error().message;
    EXPECT_EQ(*pulled, data);
  }
}

TEST_F(PushDecompress, LargeWriteAtOnce) {
  std::string data = sample(400000);  // about 24 MB
  for (const char* tool : {"gzip", "zstd"}) {
    auto got = push(compress(tool, data, {"-1"}), 0);
    ASSERT_TRUE(got.ok()) << tool << ": " << got.error().message;
    EXPECT_TRUE(*got == data) << tool;
  }
}

TEST_F(PushDecompress, ConcatenatedMembersStreamsAndFrames) {
  const std::string a = sample(3000), b = "second part\n" + sample(10);
  for (const auto& [tool, format] : kTools) {
    if (format == Format::kPlain) continue;
    SCOPED_TRACE(tool);
    std::string z = compress(tool, a) + compress(tool, b);
    auto got = push(z, 7);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, a + b);
    auto pulled = pull(z);
    ASSERT_TRUE(pulled.ok()) << pulled.error().message;
    EXPECT_EQ(*pulled, *got);
  }
}

TEST_F(PushDecompress, TrailingBytesAfterGzipOrBzip2AreIgnoredAsLibarchiveDoes) {
  const std::string data = sample(100);
  for (const char* tool : {"gzip", "bzip2"}) {
    SCOPED_TRACE(tool);
    std::string z = compress(tool, data) + "\nsome trailing text";
    auto got = push(z, 1);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, data);
    auto pulled = pull(z);
    ASSERT_TRUE(pulled.ok()) << pulled.error().message;
    EXPECT_EQ(*pulled, data);
  }
}

TEST_F(PushDecompress, ResetMidStreamStartsOver) {
  const std::string data = sample(5000);
  for (const auto& [tool, format] : kTools) {
    SCOPED_TRACE(tool);
    std::string z = compress(tool, data);
    auto d = make();
    ASSERT_TRUE(d->write(std::string_view(z).substr(0, z.size() / 2)).ok());
    (void)d->write("\x01garbage");  // a broken attempt: whatever it did is forgotten
    ASSERT_TRUE(d->reset().ok());
    EXPECT_EQ(d->bytes_written(), 0u);
    EXPECT_EQ(d->bytes_out(), 0u);
    EXPECT_EQ(d->format(), Format::kUnknown);
    out_.clear();
    ASSERT_TRUE(d->write(z).ok());
    ASSERT_TRUE(d->finish().ok());
    EXPECT_EQ(out_, data);
  }
}

TEST_F(PushDecompress, TruncatedStreamFailsAtFinishNamingTheFile) {
  const std::string data = sample(5000);
  for (const auto& [tool, format] : kTools) {
    if (format == Format::kPlain) continue;
    SCOPED_TRACE(tool);
    std::string z = compress(tool, data);
    for (size_t keep : {z.size() / 2, z.size() - 1}) {
      auto got = push(z.substr(0, keep), 1);
      ASSERT_FALSE(got.ok()) << "kept " << keep;
      EXPECT_TRUE(got.error().message.starts_with("URL: ")) << got.error().message;
      EXPECT_EQ(got.error().code, ErrorCode::kParse);
      EXPECT_FALSE(pull(z.substr(0, keep)).ok()) << "kept " << keep;
    }
  }
  // A signature alone (libarchive reads a gzip header this short as plain data).
  auto gz = push(std::string("\x1f\x8b\x08\x00", 4), 1);
  ASSERT_FALSE(gz.ok());
  EXPECT_NE(gz.error().message.find("truncated gzip"), std::string::npos) << gz.error().message;
}

TEST_F(PushDecompress, CorruptDataFailsNamingTheFileAndStaysFailed) {
  const std::string data = sample(5000);
  for (const auto& [tool, format] : kTools) {
    if (format == Format::kPlain) continue;
    SCOPED_TRACE(tool);
    std::string z = compress(tool, data);
    for (size_t i = z.size() / 3; i < z.size() / 3 + 16; ++i) z[i] = static_cast<char>(~z[i]);
    auto d = make();
    Status st = d->write(z);
    if (st.ok()) st = d->finish();
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.error().message.starts_with("URL: ")) << st.error().message;
    Status again = d->write("more");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().message, st.error().message);
    EXPECT_FALSE(d->finish().ok());
  }
}

TEST_F(PushDecompress, OutputBoundStopsABomb) {
  std::string zeros(20 << 20, '\0');
  for (const auto& [tool, format] : kTools) {
    SCOPED_TRACE(tool);
    std::string z = compress(tool, zeros);
    auto got = push(z, 4096, 1 << 20);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().message, "URL: decompresses to more than 1048576 bytes");
    EXPECT_LE(out_.size(), 1u << 20);
  }
  auto exact = push(compress("xz", std::string(1 << 20, 'x')), 0, 1 << 20);
  ASSERT_TRUE(exact.ok()) << exact.error().message;  // the bound itself is allowed
}

TEST_F(PushDecompress, EmptyAndShortInputsArePlain) {
  for (std::string s : {std::string(), std::string("\x1f"), std::string("BZh9"),
                        std::string("\xfd" "7zX"), std::string("<?xml")}) {
    auto got = push(s, 1);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, s);
    auto pulled = pull(s);
    ASSERT_TRUE(pulled.ok());
    EXPECT_EQ(*pulled, s);
  }
  auto d = make();
  Status st = d->write("BZh91AY&SYnot really");  // bzip2's signature, then garbage
  if (st.ok()) st = d->finish();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(d->format(), Format::kBzip2);
}

TEST_F(PushDecompress, Lz4IsRefusedByName) {
  auto got = push(compress("lz4", sample(100)), 0);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("URL: lz4-compressed"), std::string::npos)
      << got.error().message;
}

TEST_F(PushDecompress, SinkErrorIsReturnedAsItIs) {
  int calls = 0;
  PushDecompressor d("URL", [&](std::string_view) -> Status {
    ++calls;
    return make_error(ErrorCode::kUnsafePath, "primary: package x: refused");
  });
  std::string z = compress("gzip", sample(50000));
  Status st = d.write(z);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnsafePath);
  EXPECT_EQ(st.error().message, "primary: package x: refused");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(d.finish().ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(PushDecompress, WriteAfterFinishIsAnError) {
  auto d = make();
  ASSERT_TRUE(d->write("plain").ok());
  ASSERT_TRUE(d->finish().ok());
  EXPECT_TRUE(d->finish().ok());
  EXPECT_FALSE(d->write("more").ok());
  EXPECT_EQ(out_, "plain");
}

}  // namespace
}  // namespace depot
