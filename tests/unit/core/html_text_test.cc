#include "core/html_text.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(HtmlText, EscapeRoundTrip) {
  const std::string text = "<>=3.8 & \"'x'\"";
  EXPECT_EQ(html_unescape(html_escape(text)), text);
  EXPECT_EQ(html_unescape("&#233;&#xE9;&bogus;&"), "\xC3\xA9\xC3\xA9&bogus;&");
}

}  // namespace
}  // namespace depot
