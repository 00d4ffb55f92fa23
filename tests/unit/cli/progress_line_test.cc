#include "cli/progress_line.h"

#include <gtest/gtest.h>

#include "support/mem_stream.h"

namespace depot {
namespace {

TEST(ProgressLine, FormatShowsFilesBytesRateEta) {
  MirrorProgress p{"download", 10, 100, 1 << 20, 4 << 20, 8};
  std::string line = ProgressLine::format(p, 2.0, 1 << 20);
  EXPECT_EQ(line,
            "download 10/100 files, 1.0 MiB/4.0 MiB, 1.0 MiB/s, ETA 3.0s, 8 active [2.0s]");
}

TEST(ProgressLine, NothingWrittenWhenDisabled) {
  testing::MemStream mem;
  FakeClock clock;
  {
    ProgressLine line(mem.file(), clock, /*enabled=*/false);
    line.update(MirrorProgress{"download", 1, 2, 3, 4, 1});
  }
  EXPECT_EQ(mem.str().size(), 0u);
}

TEST(ProgressLine, RedrawsAtMostEvery200ms) {
  testing::MemStream mem;
  FakeClock clock;
  {
    ProgressLine line(mem.file(), clock, /*enabled=*/true);
    clock.advance(std::chrono::seconds(1));
    line.update(MirrorProgress{"download", 1, 2, 3, 4, 1});
    line.update(MirrorProgress{"download", 2, 2, 4, 4, 1});  // too soon: skipped
    clock.advance(std::chrono::milliseconds(250));
    line.update(MirrorProgress{"download", 2, 2, 4, 4, 0});
  }
  std::string out = mem.str();
  size_t draws = 0;
  for (size_t pos = 0; (pos = out.find("download", pos)) != std::string::npos; ++pos) ++draws;
  EXPECT_EQ(draws, 2u);
  EXPECT_NE(out.find("1/2 files"), std::string::npos);
  EXPECT_EQ(out.find("2/2 files, 4 B/4 B, 0 B/s, 1 active"), std::string::npos);
}

}  // namespace
}  // namespace depot
