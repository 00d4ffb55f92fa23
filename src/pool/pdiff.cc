#include "pool/pdiff.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <sstream>

#include "core/byte_source.h"
#include "core/clock.h"
#include "core/digest.h"
#include "core/file_io.h"
#include "pool/chunked_compress.h"
#include "pool/ed_patch.h"
#include "sources/decompress.h"

namespace depot::pool {
namespace fs = std::filesystem;

std::string pdiff_patch_name(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d-%H%M.%S", &tm);
  return buf;
}

std::string gzip_bytes(std::string_view data, int level) {
  auto chunk = gzip_chunk(data, level);
  if (!chunk.ok()) chunk = gzip_chunk(data, 9);
  const GzipChunk* parts[] = {&*chunk};
  return gzip_assemble(parts);
}

Result<std::string> gunzip_bytes(std::string_view gz, std::string_view what) {
  // read_decompressed also passes plain bytes through; only gzip is accepted here.
  if (gz.size() < 2 || gz[0] != '\x1f' || gz[1] != '\x8b')
    return make_error(ErrorCode::kParse, std::string(what) + ": not one whole gzip stream");
  std::string out;
  auto source = memory_source(std::make_shared<const std::string>(gz));
  DEPOT_TRY(read_decompressed(*source, std::string(what), [&](std::string_view chunk) {
    out.append(chunk);
    return ok_status();
  }));
  return out;
}

namespace {

std::string link_id(const std::string& from, const std::string& to) { return from + "-" + to; }

std::string size_field(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%7llu", static_cast<unsigned long long>(n));
  return buf;
}

struct IndexState {
  std::string current;
  struct Patch {
    std::string name, link, gz_sha256;
  };
  std::vector<Patch> patches;
  std::string index;
};

Result<IndexState> read_state(const fs::path& file) {
  DEPOT_ASSIGN_OR_RETURN(std::string text, read_whole_file(file, file.string()));
  IndexState st;
  size_t blank = text.find("\n\n");
  if (blank == std::string::npos) return make_error(ErrorCode::kParse, file.string() + ": torn");
  std::istringstream head(text.substr(0, blank + 1));
  std::string kind;
  while (head >> kind) {
    if (kind == "current") {
      head >> st.current;
    } else if (kind == "patch") {
      IndexState::Patch p;
      head >> p.name >> p.link >> p.gz_sha256;
      st.patches.push_back(std::move(p));
    } else {
      return make_error(ErrorCode::kParse, file.string() + ": unknown line " + kind);
    }
  }
  st.index = text.substr(blank + 2);
  return st;
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> out;
  auto text = read_whole_file(file, file.string());
  if (!text.ok()) return out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

namespace {

// "<component>/binary-<arch>/" of each Packages file under dists_dir, sorted.
std::vector<std::string> packages_dirs(const fs::path& dists_dir, std::error_code& ec) {
  std::vector<std::string> dirs;
  for (auto comp = fs::directory_iterator(dists_dir, ec); !ec && comp != fs::directory_iterator();
       comp.increment(ec)) {
    std::error_code ec2;
    if (!comp->is_directory(ec2)) continue;
    for (auto bin = fs::directory_iterator(comp->path(), ec2);
         !ec2 && bin != fs::directory_iterator(); bin.increment(ec2)) {
      const std::string name = bin->path().filename().string();
      if (name.starts_with("binary-") && fs::is_regular_file(bin->path() / "Packages", ec2)) {
        dirs.push_back(comp->path().filename().string() + "/" + name + "/");
      }
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace

PdiffStore::PdiffStore(fs::path dir, unsigned generations, Logger& logger)
    : dir_(std::move(dir)), generations_(std::max(1u, generations)), log_(logger) {}

Result<PdiffUpdate> PdiffStore::update(const std::string& suite, const fs::path& dists_dir,
                                       const std::function<bool()>& still_current) {
  std::lock_guard lock(mu_);
  PdiffUpdate report;
  std::error_code ec;
  fs::remove_all(dir_ / "tmp", ec);
  for (const char* sub : {"links", "texts", "repos", "tmp"}) fs::create_directories(dir_ / sub, ec);
  if (ec) return make_error(ErrorCode::kIo, dir_.string() + ": " + ec.message());
  const std::vector<std::string> dirs = packages_dirs(dists_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dists_dir.string() + ": " + ec.message());
  for (const std::string& d : dirs) {
    if (!still_current()) {
      report.superseded = true;
      break;
    }
    DEPOT_ASSIGN_OR_RETURN(
        std::string text,
        read_whole_file(dists_dir / d / "Packages", (dists_dir / d / "Packages").string()));
    DEPOT_TRY(record(suite, d, text, report));
  }
  prune_texts();
  return report;
}

Status PdiffStore::record(const std::string& suite, const std::string& dir, const std::string& text,
                          PdiffUpdate& report) {
  const fs::path state = dir_ / "repos" / suite / dir;
  std::vector<Version> history;
  for (const std::string& line : read_lines(state / "history")) {
    std::istringstream in(line);
    Version v;
    if (in >> v.sha256 >> v.size >> v.seconds) history.push_back(std::move(v));
  }
  Version now{sha256_hex(text), text.size(), unix_seconds(std::chrono::system_clock::now())};
  if (!history.empty() && history.back().sha256 == now.sha256) return ok_status();
  if (!history.empty()) now.seconds = std::max(now.seconds, history.back().seconds + 1);
  const fs::path text_file = text_path(now.sha256);
  std::error_code ec;
  if (!fs::exists(text_file, ec)) DEPOT_TRY(write_file_atomic(text_file, gzip_bytes(text, 1)));
  history.push_back(now);
  if (history.size() >= 2) {
    auto built = build_link(history[history.size() - 2], history.back(), text);
    if (!built.ok()) {
      log_.warn("pdiff_link_skipped",
                {{"suite", suite}, {"index", dir + "Packages"}, {"error", built.error().message}});
    } else if (*built) {
      report.links_built++;
    }
  }
  if (history.size() > generations_ + 1) {
    history.erase(history.begin(), history.end() - (generations_ + 1));
  }
  fs::create_directories(state, ec);
  if (ec) return make_error(ErrorCode::kIo, state.string() + ": " + ec.message());
  std::string lines;
  for (const Version& v : history) {
    lines += v.sha256 + " " + std::to_string(v.size) + " " + std::to_string(v.seconds) + "\n";
  }
  DEPOT_TRY(write_file_atomic(state / "history", lines));
  DEPOT_TRY(write_index(state, history, report));
  report.indexes_changed++;
  return ok_status();
}

fs::path PdiffStore::text_path(const std::string& sha256) const {
  return dir_ / "texts" / (sha256 + ".gz");
}

Result<std::string> PdiffStore::read_text(const std::string& sha256) const {
  const fs::path file = text_path(sha256);
  DEPOT_ASSIGN_OR_RETURN(std::string gz, read_whole_file(file, file.string()));
  return gunzip_bytes(gz, file.string());
}

// Builds link from -> to (`to_text`) unless it exists: false when it did. Checked by applying
// it before it is stored. diff reads both texts from plain files under tmp/, removed after.
Result<bool> PdiffStore::build_link(const Version& from, const Version& to,
                                    const std::string& to_text) {
  const fs::path file = dir_ / "links" / (link_id(from.sha256, to.sha256) + ".gz");
  std::error_code ec;
  if (fs::exists(file, ec)) return false;
  DEPOT_ASSIGN_OR_RETURN(std::string base, read_text(from.sha256));
  const fs::path a = dir_ / "tmp" / from.sha256, b = dir_ / "tmp" / to.sha256;
  struct Remove {
    const fs::path &a, &b;
    ~Remove() {
      std::error_code ignored;
      fs::remove(a, ignored);
      fs::remove(b, ignored);
    }
  } remove{a, b};
  DEPOT_TRY(write_whole_file(a, base));
  DEPOT_TRY(write_whole_file(b, to_text));
  DEPOT_ASSIGN_OR_RETURN(std::string patch, make_ed_patch(a, b));
  DEPOT_ASSIGN_OR_RETURN(std::string out, apply_ed_patch(base, patch, "diff --ed output"));
  if (sha256_hex(out) != to.sha256) {
    return make_error(ErrorCode::kInternal,
                      "diff --ed of " + from.sha256 + " and " + to.sha256 + " does not apply back");
  }
  DEPOT_TRY(write_file_atomic(file, gzip_bytes(patch)));
  return true;
}

Status PdiffStore::write_index(const fs::path& state, const std::vector<Version>& history,
                               PdiffUpdate& report) {
  const size_t n = history.size();
  struct Link {
    std::string patch, gz;
  };
  std::vector<Link> links(n > 0 ? n - 1 : 0);
  size_t start = n - 1;  // oldest version the published chain starts at
  for (size_t i = n - 1; i-- > 0;) {
    const std::string id = link_id(history[i].sha256, history[i + 1].sha256);
    const fs::path file = dir_ / "links" / (id + ".gz");
    std::error_code ec;
    if (!fs::exists(file, ec)) break;  // never built (logged then)
    auto gz = read_whole_file(file, file.string());
    auto patch = gz.ok() ? gunzip_bytes(*gz, file.string()) : Result<std::string>(gz.error());
    auto text = patch.ok() ? read_text(history[i].sha256) : Result<std::string>(patch.error());
    Status verified = text.ok() ? ok_status() : Status(text.error());
    if (text.ok()) {  // the chain from this start to Current, as a client applies it
      links[i] = {*patch, *gz};
      std::string cur = std::move(*text);
      for (size_t j = i; j + 1 < n && verified.ok(); ++j) {
        auto next = apply_ed_patch(cur, links[j].patch, (dir_ / "links" / id).string());
        if (!next.ok())
          verified = next.error();
        else
          cur = std::move(*next);
      }
      if (verified.ok() && sha256_hex(cur) != history[n - 1].sha256) {
        verified = make_error(ErrorCode::kParse, file.string() + ": the chain from " +
                                                     history[i].sha256 + " does not give Current");
      }
    }
    if (!verified.ok()) {
      log_.warn("pdiff_link_dropped", {{"link", file.string()},
                                       {"older_links_dropped", static_cast<uint64_t>(i)},
                                       {"error", verified.error().message}});
      report.links_dropped += i + 1;
      break;
    }
    start = i;
  }
  const fs::path file = state / "index";
  if (start + 1 >= n) {
    std::error_code ec;
    fs::remove(file, ec);
    return ok_status();
  }
  const Version& cur = history[n - 1];
  std::string head = "current " + cur.sha256 + "\n";
  std::string idx = "SHA256-Current: " + cur.sha256 + " " + size_field(cur.size) + "\n";
  std::string hist = "SHA256-History:\n", patches = "SHA256-Patches:\n",
              download = "SHA256-Download:\n";
  for (size_t i = start; i + 1 < n; ++i) {
    const std::string name = pdiff_patch_name(history[i + 1].seconds);
    const std::string gz_sha = sha256_hex(links[i].gz);
    head += "patch " + name + " " + link_id(history[i].sha256, history[i + 1].sha256) + " " +
            gz_sha + "\n";
    hist += " " + history[i].sha256 + " " + size_field(history[i].size) + " " + name + "\n";
    patches += " " + sha256_hex(links[i].patch) + " " + size_field(links[i].patch.size()) + " " +
               name + "\n";
    download += " " + gz_sha + " " + size_field(links[i].gz.size()) + " " + name + ".gz\n";
  }
  return write_file_atomic(file, head + "\n" + idx + hist + patches + download);
}

void PdiffStore::prune_texts() {
  std::set<std::string> named;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ / "repos", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != "history") continue;
    for (const std::string& line : read_lines(it->path())) named.insert(line.substr(0, 64));
  }
  if (ec) return;  // never remove what a history may name
  for (const auto& e : fs::directory_iterator(dir_ / "texts", ec)) {
    if (!named.contains(e.path().filename().string().substr(0, 64))) fs::remove(e.path(), ec);
  }
}

bool PdiffStore::publication_due(const std::string& suite, const fs::path& dists_dir) const {
  std::error_code ec;
  for (const std::string& d : packages_dirs(dists_dir, ec)) {
    auto text = read_whole_file(dists_dir / d / "Packages", (dists_dir / d / "Packages").string());
    if (!text.ok()) return false;  // the generation is going: nothing to do for it
    Digests digests;
    digests.sha256 = sha256_hex(*text);
    std::string want;
    for (const IndexExtra& e : files_for(suite, d, digests)) {
      if (e.in_release) want = *e.content;
    }
    auto have = read_whole_file(dists_dir / d / "Packages.diff" / "Index", "Index");
    if (want != (have.ok() ? *have : std::string())) return true;
  }
  return false;
}

std::vector<IndexExtra> PdiffStore::files_for(const std::string& suite, const std::string& dir,
                                              const Digests& packages) const {
  const fs::path file = dir_ / "repos" / suite / dir / "index";
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  auto st = read_state(file);
  if (!st.ok()) {
    log_.warn("pdiff_index_unreadable", {{"file", file.string()}, {"error", st.error().message}});
    return {};
  }
  if (st->current != packages.sha256) return {};
  std::vector<IndexExtra> out;
  out.push_back({"Packages.diff/Index", std::make_shared<const std::string>(st->index), true});
  for (const IndexState::Patch& p : st->patches) {
    const fs::path link = dir_ / "links" / (p.link + ".gz");
    auto gz = read_whole_file(link, link.string());
    if (!gz.ok() || sha256_hex(*gz) != p.gz_sha256) {
      log_.warn("pdiff_link_changed",
                {{"link", link.string()},
                 {"suite", suite},
                 {"index", dir + "Packages"},
                 {"error", gz.ok() ? std::string("sha256 differs from the one recorded")
                                   : gz.error().message}});
      return {};
    }
    out.push_back({"Packages.diff/" + p.name + ".gz",
                   std::make_shared<const std::string>(std::move(*gz)), false});
  }
  return out;
}

}  // namespace depot::pool
