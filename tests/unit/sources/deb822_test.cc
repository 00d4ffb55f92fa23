#include "sources/apt/deb822.h"

#include <gtest/gtest.h>

namespace depot::apt {
namespace {

struct Collected {
  std::vector<std::map<std::string, std::string>> stanzas;
  std::vector<size_t> lines;
};

Result<Collected> parse_in_chunks(std::string_view text, size_t chunk) {
  Collected c;
  Deb822Parser p("test", [&](const Stanza& s) {
    std::map<std::string, std::string> m;
    for (const auto& f : s.fields()) m[std::string(f.name)] = std::string(f.value);
    c.stanzas.push_back(std::move(m));
    c.lines.push_back(s.line());
    return ok_status();
  });
  for (size_t i = 0; i < text.size(); i += chunk) DEPOT_TRY(p.feed(text.substr(i, chunk)));
  DEPOT_TRY(p.finish());
  return c;
}

constexpr std::string_view kTwo =
    "Package: a\nVersion: 1\nDescription: short\n long line\n .\n more\n\n"
    "Package: b\r\nSize:  42 \r\n";

TEST(Deb822, ParagraphsAndContinuationLinesAnyChunking) {
  for (size_t chunk : {1, 2, 7, 1000}) {
    auto c = parse_in_chunks(kTwo, chunk);
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    ASSERT_EQ(c->stanzas.size(), 2u) << chunk;
    EXPECT_EQ(c->stanzas[0]["Package"], "a");
    EXPECT_EQ(c->stanzas[0]["Description"], "short\n long line\n .\n more");
    EXPECT_EQ(c->stanzas[1]["Size"], "42");
    EXPECT_EQ(c->lines, (std::vector<size_t>{1, 8}));
  }
}

TEST(Deb822, ValueStartingOnTheNextLine) {
  auto c = parse_in_chunks("SHA256:\n aa 1 x\n bb 2 y\n", 3);
  ASSERT_TRUE(c.ok());
  auto lines = value_lines(c->stanzas[0]["SHA256"]);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "bb 2 y");
  EXPECT_EQ(words(lines[0]), (std::vector<std::string_view>{"aa", "1", "x"}));
}

TEST(Deb822, GetIsCaseInsensitive) {
  Deb822Parser p("t", [](const Stanza& s) {
    EXPECT_EQ(s.get("md5sum").value_or(""), "x");
    EXPECT_FALSE(s.get("SHA256").has_value());
    return ok_status();
  });
  ASSERT_TRUE(p.feed("MD5sum: x\n").ok());
  ASSERT_TRUE(p.finish().ok());
}

TEST(Deb822, BlankLinesWithSpacesSeparateAndExtraBlankLinesAreIgnored) {
  auto c = parse_in_chunks("\n\nA: 1\n  \t\nB: 2\n\n\n", 4);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->stanzas.size(), 2u);
}

TEST(Deb822, MalformedLinesNameTheLine) {
  auto c = parse_in_chunks("A: 1\nnot a field\n", 100);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("test: line 2"), std::string::npos) << c.error().message;
  auto cont = parse_in_chunks(" leading continuation\n", 100);
  ASSERT_FALSE(cont.ok());
}

TEST(Deb822, HandlerErrorStopsTheParse) {
  int seen = 0;
  Deb822Parser p("t", [&](const Stanza&) {
    ++seen;
    return Status(make_error(ErrorCode::kParse, "stop"));
  });
  EXPECT_FALSE(p.feed("A: 1\n\nB: 2\n\n").ok());
  EXPECT_EQ(seen, 1);
}

TEST(Deb822, OverlongParagraphIsRefused) {
  Deb822Parser p("big", [](const Stanza&) { return ok_status(); }, 64);
  Status s = p.feed("A: " + std::string(100, 'x'));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("big"), std::string::npos);
}

}  // namespace
}  // namespace depot::apt
