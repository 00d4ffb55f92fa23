#include "pool/ed_patch.h"

#include <gtest/gtest.h>

#include <random>

#include "core/file_io.h"
#include "core/subprocess.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;

// A Packages-like text of `n` stanzas; `bump` changes the version of every bump-th stanza.
std::string stanzas(int n, int bump = 0, int skip = -1) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i == skip) continue;
    out += "Package: p" + std::to_string(i) +
           "\nVersion: " + std::to_string(bump > 0 && i % bump == 0 ? 2 : 1) +
           ".0\nDescription: x\n more\n\n";
  }
  return out;
}

TEST(EdPatch, AppliesAppendChangeDeleteInDescendingOrder) {
  const std::string base = "a\nb\nc\nd\ne\n";
  const std::string patch = "5a\nf\ng\n.\n3,4c\nC\n.\n1d\n0a\nstart\n.\n";
  auto out = apply_ed_patch(base, patch);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(*out, "start\nb\nC\ne\nf\ng\n");
  auto empty = apply_ed_patch(base, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, base);
}

TEST(EdPatch, RefusesWhatRredRefuses) {
  const std::string base = "a\nb\nc\n";
  for (const char* bad : {
           "1s/.//\n",      // GNU diff's escape of a "." line
           "1,2w\n",        // unknown command
           "1d\n2d\n",      // ascending
           "2d\n2d\n",      // same line twice
           "4d\n",          // past the end
           "0d\n",          // line 0
           "2c\nx\n",       // text block not ended
           "1d",            // no final LF
           "2,1d\n",        // reversed range
           "1,2a\nx\n.\n",  // a takes one line number
       }) {
    auto out = apply_ed_patch(base, bad, "bad");
    EXPECT_FALSE(out.ok()) << bad;
    if (!out.ok()) {
      EXPECT_EQ(out.error().code, ErrorCode::kParse) << bad;
    }
  }
}

TEST(EdPatch, BareDotLines) {
  EXPECT_TRUE(has_bare_dot_line(".\nx\n"));
  EXPECT_TRUE(has_bare_dot_line("x\n.\ny\n"));
  EXPECT_TRUE(has_bare_dot_line("x\n."));
  EXPECT_FALSE(has_bare_dot_line("x\n .\n..\n.a\n"));
  TempDir dir;
  ASSERT_TRUE(write_whole_file(dir.path() / "a", "x\n").ok());
  ASSERT_TRUE(write_whole_file(dir.path() / "b", "x\n.\n").ok());
  auto p = make_ed_patch(dir.path() / "a", dir.path() / "b");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kRefused);
}

// diff --ed output applies with apply_ed_patch and with apt's own rred, to the same bytes.
TEST(EdPatch, DiffOutputAppliesHereAndWithRred) {
  TempDir dir;
  const std::string old_text = stanzas(3000);
  const std::string cases[] = {
      stanzas(3000, 500), stanzas(3000, 0, 1234), stanzas(3001), stanzas(2000, 7), "", old_text};
  const fs::path a = dir.path() / "old", b = dir.path() / "new", p = dir.path() / "patch";
  ASSERT_TRUE(write_whole_file(a, old_text).ok());
  const bool have_rred = fs::exists("/usr/lib/apt/methods/rred");
  for (size_t k = 0; k < std::size(cases); ++k) {
    const std::string& new_text = cases[k];
    ASSERT_TRUE(write_whole_file(b, new_text).ok());
    auto patch = make_ed_patch(a, b);
    ASSERT_TRUE(patch.ok()) << patch.error().to_string();
    auto out = apply_ed_patch(old_text, *patch);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    EXPECT_EQ(*out, new_text);
    if (k < 3) {
      EXPECT_LT(patch->size(), 500u) << "a few changed stanzas: a small patch";
    }
    if (!have_rred) continue;
    ASSERT_TRUE(write_whole_file(p, *patch).ok());
    auto r = run_process({"sh", "-c", "/usr/lib/apt/methods/rred -f \"$0\" < \"$1\" > \"$2\"",
                          p.string(), a.string(), (dir.path() / "rred-out").string()});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 0) << r->err;
    auto got = read_whole_file(dir.path() / "rred-out", "rred-out");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, new_text);
  }
}

}  // namespace
}  // namespace depot::pool
