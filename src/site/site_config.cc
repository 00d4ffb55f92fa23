#include "site/site_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "serve/proxy_target.h"
#include "site/config_reader.h"
#include "site/trace_file.h"
#include "transfer/http_util.h"

namespace depot::site {
namespace {

using detail::from_config;
using detail::JobLines;
using detail::Problems;
using detail::Reader;

namespace fs = std::filesystem;

// Applies `fn` to every table of the array `key` ([[key]]); anything else is a problem.
void each_table(const toml::table& root, std::string_view key, Problems& p,
                const std::function<void(const toml::table&)>& fn) {
  const toml::node* n = root.get(key);
  if (n == nullptr) return;
  const auto* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    return p.add(n->source(), key, "expected tables: [[" + std::string(key) + "]]");
  }
  for (const auto& el : *arr) fn(*el.as_table());
}

void read_top(Reader& r, SiteConfig& site) {
  std::string data_root, state_dir, log_dir;
  r.text("listen", site.listen);
  r.text("data_root", data_root);
  r.text("state_dir", state_dir);
  r.text("log_dir", log_dir);
  r.text("control_socket", site.control_socket);
  r.text("log_format", site.log_format);
  r.text("log_level", site.log_level);
  r.integer("max_concurrent", site.max_concurrent, 1, 256);
  r.integer("retry", site.retry, 0, 100);
  r.duration("timeout", site.timeout);
  r.duration("jitter", site.jitter);
  r.integer("history_days", site.history_days, 1, 36500);
  r.integer("log_keep", site.log_keep, 0, 1000);
  r.text("site_name", site.site_name);
  r.text("timezone", site.timezone);
  if (!data_root.empty()) site.data_root = from_config(site, data_root);
  if (!state_dir.empty()) {
    site.state_dir = from_config(site, state_dir);
  } else if (!site.data_root.empty()) {
    site.state_dir = site.data_root / ".depot-site";
  }
  site.log_dir = !log_dir.empty() ? from_config(site, log_dir) : site.state_dir / "logs";
  if (!site.control_socket.empty()) {
    site.control_socket = from_config(site, site.control_socket).string();
  } else if (!site.state_dir.empty()) {
    site.control_socket = (site.state_dir / "control.sock").string();
  }
}

void check_top(Reader& r, SiteConfig& site) {
  if (site.log_format != "text" && site.log_format != "json") {
    r.problem("log_format", "expected text or json");
  }
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error"};
  if (!kLevels.count(site.log_level)) r.problem("log_level", "expected debug, info, warn or error");
  if (!site.site_name.empty() && !check_site_name(site.site_name).ok()) {
    r.problem("site_name", check_site_name(site.site_name).error().message);
  }
  if (Status st = check_time_zone(site.timezone); !st.ok()) {
    r.problem("timezone", st.error().message);
  }
  if (!site.listen.empty() && !parse_host_port(site.listen, site.server.host, site.server.port)) {
    r.problem("listen", "expected HOST:PORT");
  }
  const bool no_data_root = site.data_root.empty() && !r.bad("data_root");
  if (site.state_dir.empty() && no_data_root && !r.bad("state_dir")) {
    r.problem("state_dir", "missing, and there is no data_root");
  }
  if (!site.listen.empty() && no_data_root) {
    r.problem("data_root", "missing: the server serves the data_root");
  }
}

// A file that is no TOML, as FILE:LINE: what toml++ says.
Error syntax_error(const fs::path& file, const toml::parse_error& e) {
  Problems p(file.string());
  p.add(e.source(), "", e.description());
  return make_error(ErrorCode::kInvalidArgument, p.text());
}

}  // namespace

bool valid_job_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

const JobConfig* SiteConfig::find(std::string_view name) const {
  for (const auto& j : jobs) {
    if (j.name == name) return &j;
  }
  return nullptr;
}

Result<SiteConfig> parse_site_config(std::string_view text, const fs::path& file) {
  toml::table t;
  try {
    t = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    return syntax_error(file, e);
  }
  Problems p(file.string());
  SiteConfig site;
  site.file = file;
  Reader top(t, "", p);
  read_top(top, site);
  check_top(top, site);
  const bool no_data_root = site.data_root.empty() && !top.bad("data_root");
  site.serve.root = site.data_root;
  site.serve.autoindex = true;  // a site's users browse its trees; [serve] autoindex = false
  std::vector<JobLines> job_lines;
  each_table(t, "mirror", p, [&](const toml::table& m) {
    site.jobs.push_back(detail::read_job(m, site, no_data_root, p, job_lines.emplace_back()));
  });
  top.find("mirror");
  if (const auto* s = top.find("serve")) {  // [serve], or one [[serve]]: one server
    const auto* arr = s->as_array();
    if (s->is_table()) {
      read_serve(*s->as_table(), site, p);
    } else if (arr != nullptr && arr->is_array_of_tables() && arr->size() == 1) {
      read_serve(*arr->get(0)->as_table(), site, p);
    } else {
      p.add(s->source(), "serve", "expected one table: [serve] (one server per process)");
    }
  }
  std::vector<int> prefix_lines;
  each_table(t, "upstream", p,
             [&](const toml::table& u) { read_upstream(u, site, p, prefix_lines); });
  top.find("upstream");
  for (size_t i = 0; site.serve.proxy.enabled && i < site.serve.upstreams.size(); ++i) {
    std::string why = proxy_prefix_conflict({site.serve.upstreams[i]});
    if (!why.empty()) p.add(prefix_lines[i], "upstream.prefix", why);
  }
  if (const auto* pub = top.find("publish")) {
    if (pub->is_table())
      read_publish(*pub->as_table(), site, no_data_root, p);
    else
      p.add(pub->source(), "publish", "expected a table: [publish]");
  }
  top.unknown();
  for (const char* key :
       {"listen", "data_root", "state_dir", "log_dir", "control_socket", "log_format", "log_level",
        "site_name", "log_keep", "serve", "upstream", "publish"}) {
    std::ostringstream text;
    std::string written = top.spelling(key);  // either spelling, as one setting
    if (const toml::node* n = t.get(written)) n->visit([&](const auto& v) { text << "= " << v; });
    site.process_settings[key] = text.str();
  }
  detail::check_jobs(site, job_lines, p);
  if (!p.empty()) return make_error(ErrorCode::kInvalidArgument, p.text());
  return site;
}

Result<std::string> locate_control_socket(const fs::path& file) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return syntax_error(file, e);
  }
  Problems ignored(file.string());
  SiteConfig site;
  site.file = fs::absolute(file);
  Reader top(t, "", ignored);
  read_top(top, site);
  if (site.control_socket.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      file.string() + ": names no control_socket, state_dir or data_root");
  }
  return site.control_socket;
}

Result<SiteConfig> load_site_config(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kInvalidArgument, file.string() + ": cannot read");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_site_config(buf.str(), fs::absolute(file));
}

}  // namespace depot::site
