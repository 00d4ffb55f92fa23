#pragma once
// Private to src/site/site_config*.cc: problems collected as "FILE:LINE: KEY: message", typed
// reads of one table's keys, the readers of [[mirror]] (site_config_job.cc), [serve],
// [[upstream]] and [publish] (site_config_serve.cc), and the checks across jobs
// (site_config_checks.cc). Not thread-safe.

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/units.h"
#include "site/site_config.h"

namespace depot::site::detail {

// `text` on one line: control bytes (a newline in a quoted key or value, in toml++'s
// descriptions) as \xNN, so every problem stays one line.
inline std::string one_line(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Collects "FILE:LINE: KEY: message" problems, each on one line.
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void add(const toml::source_region& where, std::string_view key, std::string_view what) {
    std::string line = file_ + ":" + std::to_string(where.begin.line) + ": ";
    if (!key.empty()) line += one_line(key) + ": ";
    lines_.push_back(line + one_line(what));
  }
  bool empty() const { return lines_.empty(); }
  std::string text() const {
    std::string out;
    for (const auto& l : lines_) out += (out.empty() ? "" : "\n") + l;
    return out;
  }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

inline std::string dashed(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Typed reads of one table's keys; each key read is marked known, and `unknown()` reports the
// rest.
class Reader {
 public:
  Reader(const toml::table& t, std::string where, Problems& p)
      : t_(t), where_(std::move(where)), p_(p) {}

  // `key`, or its spelling with '_' for '-'.
  const toml::node* find(std::string_view key) {
    std::string alt(key);
    std::replace(alt.begin(), alt.end(), '-', '_');
    known_.insert(std::string(key));
    known_.insert(alt);
    const toml::node* n = t_.get(key);
    const toml::node* other = alt == key ? nullptr : t_.get(alt);
    if (n != nullptr && other != nullptr)
      wrong(*other, alt, "given twice (also as " + std::string(key) + ")");
    return n != nullptr ? n : other;
  }
  void wrong(const toml::node& n, std::string_view key, std::string_view what) {
    p_.add(n.source(), name(key), what);
  }
  std::string name(std::string_view key) const {
    return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
  }
  void text(std::string_view key, std::string& out) {
    if (const auto* n = find(key)) {
      if (auto v = n->value<std::string>())
        out = *v;
      else
        wrong(*n, key, "expected a string");
    }
  }
  void flag(std::string_view key, bool& out) {
    if (const auto* n = find(key)) {
      if (auto v = n->value<bool>())
        out = *v;
      else
        wrong(*n, key, "expected true or false");
    }
  }
  void integer(std::string_view key, int& out, int lo, int hi) {
    if (const auto* n = find(key)) {
      auto v = n->is_integer() ? n->value<int64_t>() : std::nullopt;
      if (!v || *v < lo || *v > hi) {
        wrong(*n, key,
              "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      } else {
        out = static_cast<int>(*v);
      }
    }
  }
  void number(std::string_view key, double& out, double lo, double hi) {
    if (const auto* n = find(key)) {
      auto v = n->is_number() ? n->value<double>() : std::nullopt;
      if (!v || *v < lo || *v > hi) {
        std::ostringstream s;
        s << "expected a number from " << lo << " to " << hi;
        wrong(*n, key, s.str());
      } else {
        out = *v;
      }
    }
  }
  // "6h", "1h30m" or an integer of seconds.
  void duration(std::string_view key, std::chrono::seconds& out) {
    if (const auto* n = find(key)) {
      std::optional<std::chrono::seconds> d;
      if (auto i = n->value<int64_t>(); i && n->is_integer() && *i >= 0)
        d = parse_duration(std::to_string(*i));  // bounded as the text forms are
      if (auto s = n->value<std::string>()) d = parse_duration(*s);
      if (!d)
        wrong(*n, key, "expected a duration such as \"90s\", \"30m\", \"6h\" or \"1d\"");
      else
        out = *d;
    }
  }
  // A string or an array of strings.
  void strings(std::string_view key, std::vector<std::string>& out) {
    const auto* n = find(key);
    if (n == nullptr) return;
    if (auto s = n->value<std::string>()) return out.assign({*s});
    const auto* arr = n->as_array();
    if (arr != nullptr) {
      for (const auto& el : *arr) {
        if (auto s = el.value<std::string>())
          out.push_back(*s);
        else
          return wrong(el, key, "expected strings");
      }
      return;
    }
    wrong(*n, key, "expected a string or an array of strings");
  }
  // Every key not read, or not accepted by `extra`, is a problem.
  void unknown(
      const std::function<bool(std::string_view key, const toml::node&)>& extra = nullptr) {
    for (const auto& [k, v] : t_) {
      if (known_.count(std::string(k.str()))) continue;
      if (extra && extra(k.str(), v)) continue;
      p_.add(k.source(), name(k.str()), "unknown key");
    }
  }

 private:
  const toml::table& t_;
  std::string where_;
  Problems& p_;
  std::set<std::string> known_;
};

// Relative paths are taken from the config file's directory.
inline std::filesystem::path from_config(const SiteConfig& site, const std::string& path) {
  return (site.file.parent_path() / path).lexically_normal();
}

bool is_remote_dest(std::string_view dest);
// One [[mirror]] table.
JobConfig read_job(const toml::table& t, const SiteConfig& site, Problems& p);
// Across the jobs (site_config_checks.cc): names and directories used twice, directories the
// process writes itself; problems at the jobs' [[mirror]] lines (`at` is the file's region).
void check_jobs(const SiteConfig& site, Problems& p, const toml::source_region& at);

// [serve], [[upstream]] and [publish] (site_config_serve.cc).
void read_serve(const toml::table& t, SiteConfig& site, Problems& p);
void read_upstream(const toml::table& t, SiteConfig& site, Problems& p);
void read_publish(const toml::table& t, SiteConfig& site, Problems& p);

}  // namespace depot::site::detail
