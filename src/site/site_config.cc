#include "site/site_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "core/units.h"
#include "site/config_reader.h"
#include "serve/proxy_target.h"
#include "site/trace_file.h"
#include "sources/registry.h"
#include "transfer/http_util.h"

namespace depot::site {
namespace {

using detail::dashed;
using detail::from_config;
using detail::Problems;
using detail::Reader;

namespace fs = std::filesystem;


void read_engine(Reader& r, EngineSettings& e) {
  r.integer("concurrency", e.concurrency, 0, 1024);
  r.integer("max-concurrency", e.max_concurrency, 1, 1024);
  r.integer("threads", e.threads, 1, 16);
  r.integer("retries", e.file_retries, 0, 100);
  r.number("connect-timeout", e.connect_timeout, 0.1, 3600);
  r.number("stall-timeout", e.stall_timeout, 1, 86400);
  r.number("index-grace", e.index_grace_hours, 0, 24.0 * 365);
  r.number("delete-limit", e.delete_limit, 0, 1);
  r.flag("no-delete", e.no_delete);
  r.text("s3-endpoint", e.s3_endpoint);
  r.text("s3-region", e.s3_region);
  r.text("state", e.state_dir);
}

// Reads list files and fills SourceOptions from a registry option's value.
bool apply_option(const RegistryOption& o, const toml::node& n, SourceOptions& out,
                  std::string& why) {
  using Kind = RegistryOption::Kind;
  auto& list = out.lists[o.key];
  switch (o.kind) {
    case Kind::kList:
      if (auto s = n.value<std::string>()) {
        list.push_back(*s);
      } else if (const auto* arr = n.as_array()) {
        for (const auto& el : *arr) {
          auto s2 = el.value<std::string>();
          if (!s2) return why = "expected strings", false;
          list.push_back(*s2);
        }
      } else {
        return why = "expected a string or an array of strings", false;
      }
      break;
    case Kind::kListFile: {
      auto file = n.value<std::string>();
      if (!file) return why = "expected a file name", false;
      if (Status st = append_list_file(*file, list); !st.ok())
        return why = st.error().message, false;
      break;
    }
    case Kind::kValue:
    case Kind::kFile: {
      auto v = n.value<std::string>();
      if (!v) return why = "expected a string", false;
      out.values[o.key] = *v;
      break;
    }
    case Kind::kFlag: {
      auto v = n.value<bool>();
      if (!v) return why = "expected true or false", false;
      if (*v) out.values[o.key] = "yes";
      break;
    }
  }
  if (list.empty()) out.lists.erase(o.key);
  return true;
}

bool is_remote_dest(std::string_view dest) {
  return dest.starts_with("s3://") || dest.starts_with("cluster+http://") ||
         dest.starts_with("cluster+https://");
}

// Where the job writes, from its `dir` (see JobConfig::dest).
void resolve_dest(const SiteConfig& site, const std::string& dir, JobConfig& job) {
  if (is_remote_dest(dir)) {
    job.dest = dir;
    return;
  }
  fs::path p = dir.empty() ? site.data_root / job.name : fs::path(dir);
  if (p.is_relative()) p = site.data_root / p;
  p = p.lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  job.dest = p.string();
  if (!site.data_root.empty()) {
    auto rel = p.lexically_relative(site.data_root);
    job.served = !rel.empty() && *rel.begin() != ".." && rel != ".";
    if (job.served) job.url_path = rel.generic_string() + "/";
  }
}

JobConfig read_job(const toml::table& t, SiteConfig& site, Problems& p) {
  JobConfig job;
  job.line = static_cast<int>(t.source().begin.line);
  job.retry = site.retry;
  job.timeout = site.timeout;
  Reader r(t, "mirror", p);
  r.text("name", job.name);
  Reader named(t, "mirror '" + job.name + "'", p);
  Reader& rr = job.name.empty() ? r : named;
  if (job.name.empty()) {
    p.add(t.source(), "mirror", "needs a name");
  } else if (!valid_job_name(job.name)) {
    p.add(t.source(), "mirror.name",
          "'" + job.name + "': 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'");
  }
  rr.find("name");
  rr.text("registry", job.registry);
  rr.text("upstream", job.upstream);
  std::string dir, interval, zone = site.timezone;
  rr.text("dir", dir);
  rr.text("interval", interval);
  rr.text("timezone", zone);
  rr.integer("retry", job.retry, 0, 100);
  rr.duration("timeout", job.timeout);
  rr.strings("exec_on_success", job.exec_on_success);
  rr.strings("exec_on_failure", job.exec_on_failure);
  rr.flag("enabled", job.enabled);
  rr.text("size", job.size);
  if (job.size != "index" && job.size != "disk" && job.size != "off") {
    p.add(t["size"].node()->source(), rr.name("size"), "expected index, disk or off");
  }
  read_engine(rr, job.engine);

  const RegistryDescriptor* reg = find_registry(job.registry);
  if (job.registry.empty()) {
    p.add(t.source(), rr.name("registry"), "missing");
  } else if (reg == nullptr || !reg->factory) {
    std::string names;
    for (const auto& n : source_names()) names += (names.empty() ? "" : ", ") + n;
    p.add(t["registry"].node()->source(), rr.name("registry"),
          "'" + job.registry + "' is not a registry depot mirrors (" + names + ")");
  }
  if (job.upstream.empty())
    p.add(t.source(), rr.name("upstream"), "missing");
  else if (!is_http_url(job.upstream)) {
    p.add(t["upstream"].node()->source(), rr.name("upstream"),
          "expected an http:// or https:// URL");
  }
  job.source.upstream = job.upstream;
  if (Status st = check_time_zone(zone); !st.ok()) {
    if (t.contains("timezone")) {
      p.add(t["timezone"].node()->source(), rr.name("timezone"), st.error().message);
    }
    zone.clear();  // a wrong site-wide zone is reported once, by check_top
  }
  if (interval.empty()) {
    p.add(t.source(), rr.name("interval"),
          "missing (a duration such as \"6h\" or a cron expression)");
  } else if (auto s = Schedule::parse(interval, zone); !s.ok()) {
    p.add(t["interval"].node()->source(), rr.name("interval"), s.error().message);
  } else {
    job.schedule = *s;
  }
  if (dir.empty() && site.data_root.empty()) {
    p.add(t.source(), rr.name("dir"), "missing, and there is no data_root to put the job in");
  } else if (!is_remote_dest(dir) && fs::path(dir).is_relative() && site.data_root.empty()) {
    p.add(t["dir"].node()->source(), rr.name("dir"), "relative, and there is no data_root");
  }
  resolve_dest(site, dir, job);
  rr.unknown([&](std::string_view key, const toml::node& n) {
    if (reg == nullptr) return true;  // the registry's problem is already reported
    const RegistryOption* o = find_option(*reg, "--" + dashed(key));
    if (o == nullptr) {
      p.add(n.source(), rr.name(key), "not an option of registry " + reg->name);
      return true;
    }
    std::string why;
    if (!apply_option(*o, n, job.source, why)) p.add(n.source(), rr.name(key), why);
    return true;
  });
  return job;
}

bool inside(const std::string& x, const std::string& y) {
  return x == y || (x.size() > y.size() && x.starts_with(y) && x[y.size()] == '/');
}

// A job's directory must not hold, or lie in, a directory the process writes itself: its
// stale-file removal would delete them, or they its files.
void check_reserved(const SiteConfig& site, Problems& p, const toml::source_region& at) {
  std::vector<std::pair<std::string, fs::path>> reserved = {{"state_dir", site.state_dir},
                                                            {"log_dir", site.log_dir}};
  if (!site.data_root.empty()) {
    reserved.emplace_back("the cache directory", site.serve.cache_dir.empty()
                                                     ? site.data_root / ".depot-cache"
                                                     : site.serve.cache_dir);
  }
  if (site.publish.enabled) {
    reserved.emplace_back("where [publish] publishes", site.publish.public_dir);
    reserved.emplace_back("[publish] root", site.publish.root);
  }
  for (const JobConfig& job : site.jobs) {
    if (job.dest.empty() || is_remote_dest(job.dest)) continue;
    for (const auto& [what, dir] : reserved) {
      if (dir.empty()) continue;
      std::string d = fs::absolute(dir).lexically_normal().string();
      while (d.size() > 1 && d.ends_with('/')) d.pop_back();
      if (d.empty() || !(inside(job.dest, d) || inside(d, job.dest))) continue;
      toml::source_region r = at;
      r.begin.line = static_cast<toml::source_index>(job.line);
      p.add(r, "mirror '" + job.name + "'.dir", "overlaps " + what + " " + d + ": " + job.dest);
    }
  }
}

// Two jobs writing one directory, or one inside the other, would remove each other's files.
void check_overlaps(const std::vector<JobConfig>& jobs, Problems& p,
                    const toml::source_region& at) {
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const std::string &a = jobs[i].dest, &b = jobs[j].dest;
      if (jobs[i].name == jobs[j].name && !jobs[i].name.empty()) {
        toml::source_region r = at;
        r.begin.line = static_cast<toml::source_index>(jobs[i].line);
        p.add(r, "mirror.name",
              "'" + jobs[i].name + "' is used twice (also at line " + std::to_string(jobs[j].line) +
                  ")");
        continue;
      }
      if (a.empty() || b.empty() || !(inside(a, b) || inside(b, a))) continue;
      toml::source_region r = at;
      r.begin.line = static_cast<toml::source_index>(jobs[i].line);
      p.add(r, "mirror '" + jobs[i].name + "'.dir",
            (a == b ? "the same directory as mirror '" : "overlaps the directory of mirror '") +
                jobs[j].name + "' (line " + std::to_string(jobs[j].line) + "): " + a);
    }
  }
}

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

void check_top(const toml::table& t, SiteConfig& site, Problems& p) {
  if (site.log_format != "text" && site.log_format != "json") {
    p.add(t["log_format"].node()->source(), "log_format", "expected text or json");
  }
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error"};
  if (!kLevels.count(site.log_level)) {
    p.add(t["log_level"].node()->source(), "log_level", "expected debug, info, warn or error");
  }
  if (!site.site_name.empty() && !check_site_name(site.site_name).ok()) {
    p.add(t["site_name"].node()->source(), "site_name",
          check_site_name(site.site_name).error().message);
  }
  if (Status st = check_time_zone(site.timezone); !st.ok()) {
    p.add(t["timezone"].node()->source(), "timezone", st.error().message);
  }
  if (!site.listen.empty() && !parse_host_port(site.listen, site.server.host, site.server.port)) {
    p.add(t["listen"].node()->source(), "listen", "expected HOST:PORT");
  }
  if (site.state_dir.empty()) p.add(t.source(), "state_dir", "missing, and there is no data_root");
  if (!site.listen.empty() && site.data_root.empty()) {
    p.add(t.source(), "data_root", "missing: the server serves the data_root");
  }
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
    return make_error(ErrorCode::kInvalidArgument,
                      file.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                          detail::one_line(e.description()));
  }
  Problems p(file.string());
  SiteConfig site;
  site.file = file;
  Reader top(t, "", p);
  read_top(top, site);
  check_top(t, site, p);
  site.serve.root = site.data_root;
  site.serve.autoindex = true;  // a site's users browse its trees; [serve] autoindex = false
  each_table(t, "mirror", p,
             [&](const toml::table& m) { site.jobs.push_back(read_job(m, site, p)); });
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
  each_table(t, "upstream", p, [&](const toml::table& u) { read_upstream(u, site, p); });
  top.find("upstream");
  if (site.serve.proxy.enabled) {
    std::string why = proxy_prefix_conflict(site.serve.upstreams);
    if (!why.empty()) p.add(t.source(), "upstream.prefix", why);
  }
  if (const auto* pub = top.find("publish")) {
    if (pub->is_table())
      read_publish(*pub->as_table(), site, p);
    else
      p.add(pub->source(), "publish", "expected a table: [publish]");
  }
  top.unknown();
  for (const char* key :
       {"listen", "data_root", "state_dir", "log_dir", "control_socket", "log_format", "log_level",
        "site_name", "log_keep", "serve", "upstream", "publish"}) {
    std::ostringstream text;
    if (const toml::node* n = t.get(key)) n->visit([&](const auto& v) { text << "= " << v; });
    site.process_settings[key] = text.str();
  }
  check_overlaps(site.jobs, p, t.source());
  check_reserved(site, p, t.source());
  if (!p.empty()) return make_error(ErrorCode::kInvalidArgument, p.text());
  return site;
}

Result<std::string> locate_control_socket(const fs::path& file) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      file.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                          detail::one_line(e.description()));
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
