// Checks across depot.toml's jobs: names and directories used twice, directories the process
// writes itself, paths where the server answers itself.

#include "serve/proxy_target.h"
#include "site/config_reader.h"

namespace depot::site::detail {
namespace {

namespace fs = std::filesystem;

bool inside(const std::string& x, const std::string& y) {
  return x == y || (x.size() > y.size() && x.starts_with(y) && x[y.size()] == '/');
}

// `path` absolute and normal, without a trailing '/'.
std::string absolute_text(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  std::string out = (ec ? path : abs).lexically_normal().string();
  while (out.size() > 1 && out.ends_with('/')) out.pop_back();
  return out;
}

// absolute_text of `path` with the symlinks of its existing part resolved.
std::string resolved(const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::weakly_canonical(absolute_text(path), ec);
  return ec ? absolute_text(path) : absolute_text(real);
}

// `written`, followed by what it resolves to when that differs.
std::string shown(const std::string& written, const std::string& real) {
  return real == written ? written : written + " (resolves to " + real + ")";
}

struct Dir {
  std::string written, real;
};

// A local job's directory; nullopt for s3:// and cluster destinations.
std::optional<Dir> local_dir(const JobConfig& job) {
  if (job.dest.empty() || is_remote_dest(job.dest)) return std::nullopt;
  return Dir{job.dest, resolved(job.dest)};
}

// Two jobs of one name, or writing one directory (or one inside the other, through symlinks
// too), would remove each other's files.
void check_twice(const SiteConfig& site, const std::vector<JobLines>& lines, Problems& p) {
  const auto& jobs = site.jobs;
  std::vector<std::optional<Dir>> dirs;
  for (const JobConfig& job : jobs) dirs.push_back(local_dir(job));
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (jobs[i].name == jobs[j].name && !jobs[i].name.empty()) {
        p.add(lines[i].name, "mirror.name",
              "'" + jobs[i].name + "' is used twice (also at line " +
                  std::to_string(lines[j].name) + ")");
        continue;
      }
      const std::string &a = jobs[i].dest, &b = jobs[j].dest;
      std::string ra = dirs[i] ? dirs[i]->real : a, rb = dirs[j] ? dirs[j]->real : b;
      if (a.empty() || b.empty() || !(inside(ra, rb) || inside(rb, ra))) continue;
      p.add(lines[i].dir, "mirror '" + jobs[i].name + "'.dir",
            (ra == rb ? "the same directory as mirror '" : "overlaps the directory of mirror '") +
                jobs[j].name + "' (line " + std::to_string(lines[j].dir) + "): " + shown(a, ra));
    }
  }
}

// A job's directory must not hold, or lie in, a directory the process writes itself: its
// stale-file removal would delete them, or they its files.
void check_reserved(const SiteConfig& site, const std::vector<JobLines>& lines, Problems& p) {
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
  std::vector<std::pair<std::string, Dir>> dirs;
  for (const auto& [what, dir] : reserved) {
    if (dir.empty()) continue;
    dirs.emplace_back(what, Dir{absolute_text(dir), resolved(dir)});
  }
  for (size_t i = 0; i < site.jobs.size(); ++i) {
    const JobConfig& job = site.jobs[i];
    std::optional<Dir> jd = local_dir(job);
    if (!jd) continue;
    for (const auto& [what, d] : dirs) {
      if (!(inside(jd->real, d.real) || inside(d.real, jd->real))) continue;
      p.add(lines[i].dir, "mirror '" + job.name + "'.dir",
            "overlaps " + what + " " + shown(d.written, d.real) + ": " +
                shown(jd->written, jd->real));
    }
  }
}

// A job served where the server answers requests itself would shadow those answers, or be
// shadowed by them.
void check_routes(const SiteConfig& site, const std::vector<JobLines>& lines, Problems& p) {
  for (size_t i = 0; i < site.jobs.size(); ++i) {
    const JobConfig& job = site.jobs[i];
    if (!job.served) continue;
    std::string rel = job.url_path.substr(0, job.url_path.size() - 1);
    std::string why = route_clash(rel, site.serve.proxy.enabled);
    if (why.empty()) continue;
    if (lines[i].dir_given) {
      p.add(lines[i].dir, "mirror '" + job.name + "'.dir", "'" + rel + "': " + why);
    } else {
      p.add(lines[i].name, "mirror.name",
            "'" + job.name + "': " + why + " (give the job another name or a dir)");
    }
  }
}

}  // namespace

std::string route_clash(std::string_view rel, bool proxy) {
  std::string_view first = rel.substr(0, rel.find('/'));
  if (first == "_depot") {
    return "/_depot/ is the server's own (the status page, status.json, usage reports)";
  }
  if (rel == "metrics") return "/metrics is the server's own (its Prometheus metrics)";
  if (proxy && first == kProxyPrefix) return "/_proxy/ is where the proxy keeps its hosts";
  return "";
}

void check_jobs(const SiteConfig& site, const std::vector<JobLines>& lines, Problems& p) {
  check_twice(site, lines, p);
  check_reserved(site, lines, p);
  check_routes(site, lines, p);
}

}  // namespace depot::site::detail
