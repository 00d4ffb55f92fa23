// depot.toml's [[mirror]] tables: one scheduled job each.

#include "site/config_reader.h"
#include "sources/registry.h"
#include "transfer/http_util.h"

namespace depot::site::detail {
namespace {

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

// name, registry, upstream.
void read_identity(const toml::table& t, Reader& r, Reader& rr, JobConfig& job, Problems& p) {
  if (!r.has("name")) {
    p.add(t.source(), "mirror", "needs a name");
  } else if (!r.bad("name") && !valid_job_name(job.name)) {
    r.problem("name", "'" + job.name + "': " + kJobNameRule);
  }
  rr.find("name");
  rr.text("registry", job.registry);
  rr.text("upstream", job.upstream);
  if (!rr.has("upstream")) {
    rr.problem("upstream", "missing");
  } else if (!rr.bad("upstream") && !is_http_url(job.upstream)) {
    rr.problem("upstream", "expected an http:// or https:// URL");
  }
  job.source.upstream = job.upstream;
}

const RegistryDescriptor* check_registry(Reader& rr, const JobConfig& job) {
  const RegistryDescriptor* reg = find_registry(job.registry);
  if (!rr.has("registry")) {
    rr.problem("registry", "missing");
  } else if (!rr.bad("registry") && (reg == nullptr || !reg->factory)) {
    std::string names;
    for (const auto& n : source_names()) names += (names.empty() ? "" : ", ") + n;
    rr.problem("registry",
               "'" + job.registry + "' is not a registry depot mirrors (" + names + ")");
  }
  return reg;
}

// interval and timezone.
void read_schedule(Reader& rr, const SiteConfig& site, JobConfig& job) {
  std::string interval, zone = site.timezone;
  rr.text("interval", interval, "a duration such as \"1h\" or a cron expression");
  rr.text("timezone", zone);
  if (Status st = check_time_zone(zone); !st.ok()) {
    if (rr.has("timezone")) rr.problem("timezone", st.error().message);
    zone.clear();  // a wrong site-wide zone is reported once, by check_top
  }
  if (!rr.has("interval")) {
    rr.problem("interval", "missing (a duration such as \"6h\" or a cron expression)");
  } else if (rr.bad("interval")) {
    return;
  } else if (auto s = Schedule::parse(interval, zone); !s.ok()) {
    rr.problem("interval", s.error().message);
  } else {
    job.schedule = *s;
  }
}

// dir: where the job writes.
void read_dir(Reader& rr, const SiteConfig& site, bool no_data_root, JobConfig& job) {
  std::string dir;
  rr.text("dir", dir);
  // A wrong dir, or none and no name to default to, is reported already: no dest to check.
  if (rr.bad("dir") || (!rr.has("dir") && !valid_job_name(job.name))) return;
  if (no_data_root && !rr.has("dir")) {
    rr.problem("dir", "missing, and there is no data_root to put the job in");
  } else if (no_data_root && !is_remote_dest(dir) && fs::path(dir).is_relative()) {
    rr.problem("dir", "relative, and there is no data_root");
  }
  resolve_dest(site, dir, job);
}

}  // namespace

bool is_remote_dest(std::string_view dest) {
  return dest.starts_with("s3://") || dest.starts_with("cluster+http://") ||
         dest.starts_with("cluster+https://");
}

JobConfig read_job(const toml::table& t, const SiteConfig& site, bool no_data_root, Problems& p,
                   JobLines& lines) {
  JobConfig job;
  job.line = static_cast<int>(t.source().begin.line);
  job.retry = site.retry;
  job.timeout = site.timeout;
  Reader r(t, "mirror", p);
  r.text("name", job.name);
  Reader named(t, "mirror '" + job.name + "'", p);
  Reader& rr = job.name.empty() ? r : named;
  read_identity(t, r, rr, job, p);
  const RegistryDescriptor* reg = check_registry(rr, job);
  read_schedule(rr, site, job);
  read_dir(rr, site, no_data_root, job);
  rr.integer("retry", job.retry, 0, 100);
  rr.duration("timeout", job.timeout);
  rr.strings("exec_on_success", job.exec_on_success);
  rr.strings("exec_on_failure", job.exec_on_failure);
  rr.flag("enabled", job.enabled);
  rr.text("size", job.size);
  if (!rr.bad("size") && job.size != "index" && job.size != "disk" && job.size != "off") {
    rr.problem("size", "expected index, disk or off");
  }
  read_engine(rr, job.engine);
  lines.name = r.line("name");
  lines.dir_given = r.has("dir");
  lines.dir = lines.dir_given ? r.line("dir") : lines.name;
  rr.unknown([&](std::string_view key, const toml::node& n) {
    if (reg == nullptr) return true;  // the registry's problem is already reported
    const RegistryOption* o = find_option(*reg, "--" + dashed(key));
    if (o == nullptr) {
      static const std::set<std::string> kSiteWide = {
          "listen",    "data_root", "state_dir",    "log_dir",  "control_socket",
          "log_format", "log_level", "max_concurrent", "jitter", "history_days",
          "log_keep",  "site_name"};
      p.add(n.source(), rr.name(key),
            kSiteWide.count(underscored(key)) ? "a site-wide setting: give it at the top level"
                                              : "not an option of registry " + reg->name);
      return true;
    }
    std::string why;
    if (!apply_option(*o, n, job.source, why)) p.add(n.source(), rr.name(key), why);
    return true;
  });
  return job;
}

}  // namespace depot::site::detail
