// Checks across depot.toml's jobs: names and directories used twice, directories the process
// writes itself.

#include "site/config_reader.h"

namespace depot::site::detail {
namespace {

namespace fs = std::filesystem;

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

}  // namespace

void check_jobs(const SiteConfig& site, Problems& p, const toml::source_region& at) {
  check_overlaps(site.jobs, p, at);
  check_reserved(site, p, at);
}

}  // namespace depot::site::detail
