#include "site/upstream_trace.h"

#include <sstream>
#include <vector>

#include "core/byte_sink.h"
#include "core/file_io.h"
#include "site/site_config.h"
#include "site/trace_file.h"
#include "sources/registry.h"
#include "transfer/http_util.h"

namespace depot::site {
namespace {

// The body of <base>/<name>, or nullopt when upstream has no such file.
Result<std::optional<std::string>> fetch(Downloader& d, const std::string& base,
                                         const std::string& name,
                                         const std::shared_ptr<std::atomic<bool>>& cancel,
                                         uint64_t max_bytes) {
  FetchRequest req;
  req.url = base + name;
  req.max_size = max_bytes;
  req.cancel = cancel;
  StringSink sink;
  auto got = d.fetch(req, sink);
  if (!got.ok()) {
    if (got.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
    return make_error(got.error().code, req.url + ": " + got.error().message);
  }
  return std::optional<std::string>(std::move(sink.out));
}

// The names _traces lists that are valid trace names, at most `max`.
std::vector<std::string> listed(const std::string& text, size_t max, Logger& log) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line) && out.size() < max;) {
    if (line.empty()) continue;
    if (!check_site_name(line).ok()) {
      log.warn("site.upstream_trace_skipped", {{"name", line.substr(0, 80)}});
      continue;
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace

bool keeps_traces(const JobConfig& job) {
  const RegistryDescriptor* d = find_registry(job.registry);
  return d != nullptr && d->mirror_trace && std::filesystem::path(job.dest).is_absolute();
}

Result<size_t> copy_upstream_traces(Downloader& downloader, const std::string& upstream,
                                    const std::filesystem::path& trace_dir, Logger& log,
                                    const std::shared_ptr<std::atomic<bool>>& cancel,
                                    const UpstreamTraceLimits& limits) {
  std::string base = upstream;
  while (!base.empty() && base.back() == '/') base.pop_back();
  base += "/project/trace/";
  // Upstream name -> local name.
  std::vector<std::pair<std::string, std::string>> wanted = {{"master", "master"},
                                                             {"_hierarchy", "_hierarchy.mirror"}};
  DEPOT_ASSIGN_OR_RETURN(auto traces, fetch(downloader, base, "_traces", cancel,
                                            limits.max_file_bytes));
  if (traces) {
    for (const std::string& name : listed(*traces, limits.max_files, log)) {
      wanted.emplace_back(name, name);
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(trace_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, trace_dir.string() + ": creating: " + ec.message());
  size_t copied = 0;
  for (const auto& [name, local] : wanted) {
    DEPOT_ASSIGN_OR_RETURN(auto body, fetch(downloader, base, name, cancel, limits.max_file_bytes));
    if (!body) continue;
    DEPOT_TRY(write_file_atomic(trace_dir / local, *body, ".new"));
    ++copied;
  }
  log.info("site.upstream_traces", {{"url", redact_credentials(base)},
                                    {"copied", static_cast<uint64_t>(copied)}});
  return copied;
}

}  // namespace depot::site
