#include "core/logger.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "support/mem_stream.h"

namespace depot {
namespace {

TEST(Logger, TextLineQuotesValuesThatNeedIt) {
  std::string line = Logger::format_line(LogFormat::kText, LogLevel::kWarn, "mirror.file_failed",
                                         {{"path", "a b.conda"}, {"n", 3}, {"ok", "plain"}},
                                         "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(line,
            "2026-01-01T00:00:00.000Z WARN mirror.file_failed path=\"a b.conda\" n=3 ok=plain");
}

TEST(Logger, JsonLineParsesWithTypedFields) {
  std::string line = Logger::format_line(LogFormat::kJson, LogLevel::kInfo, "mirror.plan",
                                         {{"entries", uint64_t{20020}}, {"url", "http://x/\"q\""},
                                          {"rate", 1.5}},
                                         "ts");
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "mirror.plan");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["entries"], 20020);
  EXPECT_EQ(j["url"], "http://x/\"q\"");
  EXPECT_DOUBLE_EQ(j["rate"].get<double>(), 1.5);
}

TEST(Logger, LevelFilterAndHooks) {
  testing::MemStream mem;
  {
    Logger logger(LogLevel::kWarn, LogFormat::kJson, mem.file());
    int hooks = 0;
    logger.set_line_hooks([&] { ++hooks; }, [&] { ++hooks; });
    EXPECT_FALSE(logger.enabled(LogLevel::kInfo));
    logger.info("dropped");
    logger.error("kept", {{"k", "v"}});
    EXPECT_EQ(hooks, 2);
  }
  std::string out = mem.str();
  EXPECT_EQ(out.find("dropped"), std::string::npos);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["event"], "kept");
}

TEST(Logger, TheValueFilterRewritesTextFieldsOnly) {
  testing::MemStream mem;
  {
    Logger logger(LogLevel::kInfo, LogFormat::kJson, mem.file());
    logger.set_value_filter([](std::string_view v) {
      std::string s(v);
      if (auto at = s.find("secret"); at != std::string::npos) s.replace(at, 6, "***");
      return s;
    });
    logger.info("e", {{"url", "http://u:secret@h/"}, {"n", 42}});
  }
  auto j = nlohmann::json::parse(mem.str());
  EXPECT_EQ(j["url"], "http://u:***@h/");
  EXPECT_EQ(j["n"], 42);
}

}  // namespace
}  // namespace depot
