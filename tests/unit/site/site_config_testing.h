#pragma once
// Helpers of the site_config tests.

#include <gtest/gtest.h>

#include <string>

#include "site/site_config.h"

namespace depot::site {

inline Result<SiteConfig> parse(const std::string& text) {
  return parse_site_config(text, "/etc/depot.toml");
}

inline std::string problems(const std::string& text) {
  auto c = parse(text);
  EXPECT_FALSE(c.ok()) << text;
  return c.ok() ? "" : c.error().message;
}

// One [[mirror]] of registry conda in five lines ([[mirror]], name, registry, upstream,
// interval), then `extra` lines.
inline std::string job(const std::string& name, const std::string& extra = "",
                       const std::string& interval = "1h") {
  return "[[mirror]]\nname = \"" + name +
         "\"\nregistry = \"conda\"\nupstream = \"http://x.example/c\"\ninterval = \"" +
         interval + "\"\n" + extra;
}

// How often `what` occurs in `p`.
inline int count(const std::string& p, const std::string& what) {
  int n = 0;
  for (size_t at = p.find(what); at != std::string::npos; at = p.find(what, at + 1)) ++n;
  return n;
}

}  // namespace depot::site
