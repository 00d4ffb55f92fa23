#include "site/trace_file.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "core/file_io.h"

namespace depot::site {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kTempSuffix = ".new";

std::tm utc(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return tm;
}

std::string one_line(std::string_view value) {
  std::string out(value);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string joined_sorted(std::vector<std::string> words) {
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + one_line(w);
  return out;
}

void field(std::ostringstream& out, const char* key, std::string_view value) {
  out << key << ": " << one_line(value) << "\n";
}

void optional_field(std::ostringstream& out, const char* key, std::string_view value) {
  if (!value.empty()) field(out, key, value);
}

// "Archive serial" of the archive's own trace, when the mirror holds one: the value,
// "unknown" when the file has none, empty when there is no such file.
std::string master_serial(const fs::path& trace_dir) {
  auto text = read_whole_file(trace_dir / "master", "master trace", 1 << 20);
  if (!text.ok()) return "";
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    constexpr std::string_view kKey = "Archive serial:";
    if (line.starts_with(kKey)) {
      std::string v = line.substr(kKey.size());
      v.erase(0, v.find_first_not_of(' '));
      if (!v.empty()) return v;
    }
  }
  return "unknown";
}

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// Upstream's hierarchy lines (from _hierarchy.mirror) without any earlier line of `site`,
// then ours: "<trace file> <mirror name> <host> <upstream>".
std::string hierarchy(const fs::path& trace_dir, std::string_view site, const TraceInfo& info) {
  std::string out;
  auto upstream = read_whole_file(trace_dir / "_hierarchy.mirror", "hierarchy", 1 << 20);
  if (upstream.ok()) {
    std::istringstream in(*upstream);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.rfind(std::string(site) + " ", 0) != 0) out += line + "\n";
    }
  }
  out += std::string(site) + " " + std::string(site) + " " + one_line(info.host) + " " +
         one_line(info.upstream.empty() ? "unknown" : info.upstream) + "\n";
  return out;
}

// Regular files of the trace directory, not "_*", hidden or temporary, oldest first.
Result<std::string> trace_list(const fs::path& trace_dir) {
  std::vector<std::pair<fs::file_time_type, std::string>> files;
  std::error_code ec;
  for (fs::directory_iterator it(trace_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name[0] == '_' || name[0] == '.' || name.ends_with(kTempSuffix)) continue;
    std::error_code gone;  // a file removed while listing is left out
    if (!it->is_regular_file(gone) || it->is_symlink(gone)) continue;
    auto mtime = it->last_write_time(gone);
    if (!gone) files.emplace_back(mtime, name);
  }
  if (ec) return make_error(ErrorCode::kIo, trace_dir.string() + ": listing: " + ec.message());
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files) out += f.second + "\n";
  return out;
}

}  // namespace

std::string posix_date(WallTime t) {
  std::tm tm = utc(t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %s %2d %02d:%02d:%02d UTC %d", kDays[tm.tm_wday],
                kMonths[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                tm.tm_year + 1900);
  return buf;
}

std::string rfc2822_date(WallTime t) {
  std::tm tm = utc(t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string render_trace(const TraceInfo& info) {
  std::ostringstream out;
  out << posix_date(info.ended) << "\n";
  field(out, "Date", rfc2822_date(info.ended));
  field(out, "Date-Started", rfc2822_date(info.started));
  optional_field(out, "Archive serial", info.archive_serial);
  field(out, "Creator", info.software);
  field(out, "Running on host", info.host);
  optional_field(out, "Maintainer", info.maintainer);
  optional_field(out, "Sponsor", info.sponsor);
  optional_field(out, "Country", info.country);
  optional_field(out, "Location", info.location);
  optional_field(out, "Throughput", info.throughput);
  optional_field(out, "Trigger", info.trigger);
  optional_field(out, "Architectures", joined_sorted(info.architectures));
  std::string config = !info.arch_include.empty()   ? "INCLUDE " + joined_sorted(info.arch_include)
                       : !info.arch_exclude.empty() ? "EXCLUDE " + joined_sorted(info.arch_exclude)
                                                    : "ALL";
  field(out, "Architectures-Configuration", config);
  field(out, "Upstream-mirror", info.upstream.empty() ? "unknown" : info.upstream);
  if (info.bytes > 0) field(out, "Total bytes received in rsync", std::to_string(info.bytes));
  long long secs = info.seconds > 0 ? std::llround(info.seconds) : 0;
  field(out, "Total time spent in rsync", std::to_string(secs));
  if (secs > 0)
    field(out, "Average rate", std::to_string(info.bytes / static_cast<uint64_t>(secs)) + " B/s");
  return out.str();
}

Status check_site_name(std::string_view site) {
  auto bad = [&](const char* why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "trace file name '" + std::string(site) + "': " + why);
  };
  if (site.empty()) return bad("empty");
  for (char c : site) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return bad("only letters, digits, '.', '_' and '-' are allowed");
  }
  if (site[0] == '.' || site[0] == '-' || site[0] == '_') return bad("must not start with . - _");
  if (site.find("..") != std::string_view::npos) return bad("must not contain '..'");
  if (site == "master") return bad("'master' is the archive's own trace");
  if (site.ends_with(kTempSuffix) || site.ends_with("-stage1")) {
    return bad("names ending in .new or -stage1 are skipped by mirror checkers");
  }
  return ok_status();
}

Status write_trace(const fs::path& mirror_dir, std::string_view site, const TraceInfo& info) {
  DEPOT_TRY(check_site_name(site));
  std::error_code ec;
  if (!fs::is_directory(mirror_dir, ec)) {
    return make_error(ErrorCode::kNotFound, mirror_dir.string() + ": no such mirror directory");
  }
  fs::path dir = mirror_dir / "project" / "trace";
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": creating: " + ec.message());
  TraceInfo filled = info;
  if (filled.host.empty()) filled.host = local_hostname();
  if (filled.archive_serial.empty()) filled.archive_serial = master_serial(dir);
  DEPOT_TRY(write_file_atomic(dir / std::string(site), render_trace(filled), kTempSuffix));
  std::string tree = hierarchy(dir, site, filled);
  DEPOT_TRY(write_file_atomic(dir / "_hierarchy", tree, kTempSuffix));
  DEPOT_TRY(write_file_atomic(dir / "_hierarchy.mirror", tree, kTempSuffix));
  DEPOT_ASSIGN_OR_RETURN(std::string list, trace_list(dir));
  return write_file_atomic(dir / "_traces", list, kTempSuffix);
}

}  // namespace depot::site
