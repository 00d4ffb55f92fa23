#include "pool/paragraph.h"

#include <gtest/gtest.h>

namespace depot::pool {
namespace {

TEST(Paragraph, FieldsRoundTripThroughText) {
  FieldList fields = {{"Package", "jq"},
                      {"Version", "1.6-2.1"},
                      {"Conffiles", "\n /etc/jq.conf 0123\n /etc/b 4"},
                      {"Description", "lightweight JSON processor\n jq is like sed.\n .\n More."},
                      {"Empty", ""},
                      {"X-Colon", "a: b"}};
  std::string text = fields_to_text(fields);
  EXPECT_EQ(text,
            "Package: jq\nVersion: 1.6-2.1\nConffiles:\n /etc/jq.conf 0123\n /etc/b 4\n"
            "Description: lightweight JSON processor\n jq is like sed.\n .\n More.\n"
            "Empty:\nX-Colon: a: b\n");
  auto back = text_to_fields(text, "pkg 1");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, fields);
  EXPECT_EQ(fields_to_text({}), "");
  EXPECT_TRUE(text_to_fields("", "x")->empty());
}

TEST(Paragraph, ForEachFieldGivesWholeLines) {
  std::string text = "A: 1\nB: two\n lines\nC:\n x\n";
  std::vector<std::string> lines;
  ASSERT_TRUE(for_each_field(text, "t", [&](std::string_view, std::string_view,
                                            std::string_view line) {
                lines.emplace_back(line);
              }).ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"A: 1\n", "B: two\n lines\n", "C:\n x\n"}));
}

TEST(Paragraph, MalformedTextIsRefusedNamingIt) {
  for (std::string_view bad : {" leading continuation\n", "NoColon\n", "A: no newline",
                               ":\n", "A: 1\nbroken\n"}) {
    auto r = text_to_fields(bad, "package 42");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
    EXPECT_NE(r.error().message.find("package 42"), std::string::npos);
  }
}

}  // namespace
}  // namespace depot::pool
