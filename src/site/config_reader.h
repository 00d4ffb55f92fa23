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
#include <optional>
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

// Collects "FILE:LINE: KEY: message" problems, each on one line, listed by line (in the order
// found within a line).
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void add(const toml::source_region& where, std::string_view key, std::string_view what) {
    add(static_cast<int>(where.begin.line), key, what);
  }
  void add(int line, std::string_view key, std::string_view what) {
    std::string text = file_ + ":" + std::to_string(line) + ": ";
    if (!key.empty()) text += one_line(key) + ": ";
    lines_.emplace_back(line, text + one_line(what));
  }
  bool empty() const { return lines_.empty(); }
  std::string text() const {
    auto sorted = lines_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& l : sorted) out += (out.empty() ? "" : "\n") + l.second;
    return out;
  }

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> lines_;
};

inline std::string dashed(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

inline std::string underscored(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

inline int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Typed reads of one table's keys. Every key has two spellings, '-' and '_' ("max-concurrency",
// "max_concurrency"; giving both is a problem); each key read is marked known, and `unknown()`
// reports the rest. A key present with a wrong value is reported once, and `bad()` tells the
// caller not to report it again (as missing, say).
class Reader {
 public:
  Reader(const toml::table& t, std::string where, Problems& p)
      : t_(t), where_(std::move(where)), p_(p) {}

  // `key` in either spelling, marked known.
  const toml::node* find(std::string_view key) {
    std::string a = dashed(key), b = underscored(key);
    known_.insert(a);
    known_.insert(b);
    const toml::node* na = t_.get(a);
    const toml::node* nb = a == b ? nullptr : t_.get(b);
    if (na != nullptr && nb != nullptr) {
      bool b_later = line_of(*nb) >= line_of(*na);
      wrong(b_later ? *nb : *na, b_later ? b : a,
            "given twice (also as " + (b_later ? a : b) + ")");
    }
    return na != nullptr ? na : nb;
  }
  // `key` in either spelling, as written ("" when absent).
  std::string spelling(std::string_view key) const {
    if (t_.contains(dashed(key))) return dashed(key);
    if (t_.contains(underscored(key))) return underscored(key);
    return "";
  }
  bool has(std::string_view key) const { return !spelling(key).empty(); }
  // Present, and already reported as wrong.
  bool bad(std::string_view key) const { return bad_.count(underscored(key)) > 0; }
  // The line of `key`, else of the table's header.
  int line(std::string_view key) const {
    std::string s = spelling(key);
    return s.empty() ? static_cast<int>(t_.source().begin.line) : line_of(*t_.get(s));
  }
  // A problem with `key`, at its line (at the table's when it is absent).
  void problem(std::string_view key, std::string_view what) {
    std::string s = spelling(key);
    p_.add(line(key), name(s.empty() ? key : s), what);
  }
  void wrong(const toml::node& n, std::string_view key, std::string_view what) {
    bad_.insert(underscored(key));
    p_.add(n.source(), name(key), what);
  }
  std::string name(std::string_view key) const {
    return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
  }
  // `hint` follows "expected a string: " when the value is not one.
  void text(std::string_view key, std::string& out, std::string_view hint = "") {
    if (const auto* n = find(key)) {
      if (auto v = n->value<std::string>())
        out = *v;
      else
        wrong(*n, spelling(key),
              "expected a string" + (hint.empty() ? "" : ": " + std::string(hint)));
    }
  }
  void flag(std::string_view key, bool& out) {
    if (const auto* n = find(key)) {
      if (auto v = n->value<bool>())
        out = *v;
      else
        wrong(*n, spelling(key), "expected true or false");
    }
  }
  void integer(std::string_view key, int& out, int lo, int hi) {
    if (const auto* n = find(key)) {
      auto v = n->is_integer() ? n->value<int64_t>() : std::nullopt;
      if (!v || *v < lo || *v > hi) {
        wrong(*n, spelling(key),
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
        wrong(*n, spelling(key), s.str());
      } else {
        out = *v;
      }
    }
  }
  enum class Bare { kSeconds, kRefused };
  // "6h", "1h30m" or "0". A number without a unit ("3600" or 3600) is seconds with kSeconds
  // (the keys named as a command's flags that take seconds), refused with kRefused (the site's
  // own durations, which need a unit like `interval`).
  void duration(std::string_view key, std::chrono::seconds& out, Bare bare = Bare::kRefused) {
    const auto* n = find(key);
    if (n == nullptr) return;
    std::optional<std::string> text = n->value<std::string>();
    if (auto i = n->value<int64_t>(); i && n->is_integer() && *i >= 0) text = std::to_string(*i);
    std::optional<std::chrono::seconds> d = text ? parse_duration(*text) : std::nullopt;
    bool unitless =
        text && !text->empty() && text->find_first_not_of("0123456789") == std::string::npos;
    if (d && unitless && bare == Bare::kRefused && d->count() != 0) {
      return wrong(*n, spelling(key),
                   *text + " needs a unit, in a string: \"" + *text +
                       "s\" for seconds, or \"30m\", \"6h\", \"1d\"");
    }
    if (!d)
      wrong(*n, spelling(key), "expected a duration such as \"90s\", \"30m\", \"6h\" or \"1d\"");
    else
      out = *d;
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
          return wrong(el, spelling(key), "expected strings");
      }
      return;
    }
    wrong(*n, spelling(key), "expected a string or an array of strings");
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
  std::set<std::string> known_, bad_;
};

// Relative paths are taken from the config file's directory.
inline std::filesystem::path from_config(const SiteConfig& site, const std::string& path) {
  return (site.file.parent_path() / path).lexically_normal();
}

// Lines of a [[mirror]]'s keys, for problems about them: each the key's, else the header's.
struct JobLines {
  int name = 0, dir = 0;  // dir: the name's when the job has no dir
  bool dir_given = false;
};

bool is_remote_dest(std::string_view dest);
// One [[mirror]] table. `no_data_root`: the file has no data_root at all (one of a wrong type is
// already reported).
JobConfig read_job(const toml::table& t, const SiteConfig& site, bool no_data_root, Problems& p,
                   JobLines& lines);
// Across the jobs (site_config_checks.cc): names and directories used twice (through symlinks
// too), directories the process writes itself, served paths where the server answers itself.
void check_jobs(const SiteConfig& site, const std::vector<JobLines>& lines, Problems& p);
// "" when a tree served at `rel` (below the root, no leading or trailing '/') is the server's to
// serve, else why not: /_depot/..., /metrics, and with the proxy on, /_proxy/....
std::string route_clash(std::string_view rel, bool proxy);

// [serve], [[upstream]] (one call each; `prefix_lines` holds the lines of the prefixes read so
// far) and [publish] (site_config_serve.cc).
void read_serve(const toml::table& t, SiteConfig& site, Problems& p);
void read_upstream(const toml::table& t, SiteConfig& site, Problems& p,
                   std::vector<int>& prefix_lines);
void read_publish(const toml::table& t, SiteConfig& site, bool no_data_root, Problems& p);

}  // namespace depot::site::detail
