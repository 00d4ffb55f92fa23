// depot_publish_bench: imports a package set into a fresh PoolStore, puts it all into one
// repository and times publish_repo. Prints one JSON line per phase with wall seconds and the
// phase's peak RSS (each publish runs in a forked child, so its ru_maxrss is its own: the
// parent's resident set at the fork plus what the publish adds).
//
//   depot_publish_bench --root DIR --packages FILE [--limit N]   (real Packages metadata, a
//                                                                 64-byte stand-in file each)
//   depot_publish_bench --root DIR --debs DIR [--change-deb F]... (real .deb files, read_deb)
//   common: [--breakdown] [--repeat N] [--workers W] [--xz-preset P] [--gzip-level L]
//           [--gnupghome H --key ID]
//           [--repo NAME]
//
// Phases: "import" (once), then per repetition, each publish into a fresh public directory:
// "publish_noxz" (Packages, .gz, Release, signatures) and "publish_xz" (plus Packages.xz), both
// cold (an empty index-chunk cache of their own); "publish_xz_warm" (the same again, with the
// chunk cache publish_xz left: what publishing unchanged content costs, e.g. a second
// repository holding the same packages); "change" (one package replaced by a new version: the
// rep-th --change-deb, or a generated one) and "republish" (with xz) over publish_xz's
// publication and chunk cache. Publishes use a WorkPool of W - 1 threads plus the caller, as
// `depot daemon --workers W` does. --breakdown first times the steps of a publish alone
// ("step_list", "step_render", "step_packages_gz" (render + gzip chunks, no cache),
// "step_packages_xz<preset>" (render + gzip + xz), "step_sign"). Without --key a throwaway key
// is made in a private GNUPGHOME, whose agent is stopped at the end (gpgconf --kill all).

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/logger.h"
#include "core/subprocess.h"
#include "core/work_pool.h"
#include "pool/chunk_cache.h"
#include "pool/deb_reader.h"
#include "pool/packages_file.h"
#include "pool/paragraph.h"
#include "pool/pool_store.h"
#include "pool/publisher.h"
#include "sources/apt/deb822.h"
#include "sources/decompress.h"

namespace fs = std::filesystem;
using namespace depot;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "depot_publish_bench: %s\n", msg.c_str());
  std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.error().to_string());
  return std::move(r).value();
}
void must(Status s, const char* what) {
  if (!s.ok()) die(std::string(what) + ": " + s.error().to_string());
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

long maxrss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void print_phase(const std::string& phase, int rep, double secs, long rss_kib,
                 const std::string& extra = "") {
  std::printf("{\"tool\":\"depot\",\"phase\":\"%s\",\"rep\":%d,\"seconds\":%.4f,"
              "\"max_rss_kib\":%ld%s}\n",
              phase.c_str(), rep, secs, rss_kib, extra.c_str());
  std::fflush(stdout);
}

// Runs `fn` in a forked child that prints its own phase line; the parent waits.
void in_child(const std::function<void()>& fn) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    fn();
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("a publish phase failed");
  }
}

// A unique 64-byte stand-in for the .deb of `p`, written to `dir`; fills p.file.
void make_stand_in(pool::Package& p, const fs::path& dir) {
  std::string body = "depot-publish-bench " + p.name + " " + p.version + " " + p.architecture;
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(body);
  body = h.finish().sha256.substr(0, 63) + "\n";  // 64 bytes, unique per package
  p.file.filename = pool::pool_file_name(pool::package_text(p));
  const fs::path path = dir / p.file.filename;
  std::ofstream(path, std::ios::binary) << body;
  Hasher all(Hasher::kAllAlgorithms);
  all.update(body);
  p.file.size = body.size();
  p.file.digests = all.finish();
}


std::vector<pool::Package> load_packages(const fs::path& file, size_t limit) {
  std::vector<pool::Package> out;
  apt::Deb822Parser parser(file.string(), [&](const apt::Stanza& s) -> Status {
    if (limit != 0 && out.size() >= limit) return {};
    pool::Package p;
    p.format = "deb";
    p.name = std::string(s.get("Package").value_or(""));
    p.version = std::string(s.get("Version").value_or(""));
    p.architecture = std::string(s.get("Architecture").value_or(""));
    for (const apt::Field& f : s.fields()) {
      if (!pool::index_only_field(f.name)) {
        p.fields.emplace_back(std::string(f.name), std::string(f.value));
      }
    }
    out.push_back(std::move(p));
    return {};
  });
  must(read_decompressed(file, file.string(), [&](std::string_view c) { return parser.feed(c); }),
       "read Packages");
  must(parser.finish(), "parse Packages");
  return out;
}

std::string make_key(const fs::path& home) {
  fs::create_directories(home);
  fs::permissions(home, fs::perms::owner_all, fs::perm_options::replace);
  auto r = must(run_process({"gpg", "--homedir", home.string(), "--batch", "--passphrase", "",
                             "--quick-gen-key", "depot bench <bench@depot.invalid>", "ed25519",
                             "sign", "never"}),
                "gpg");
  if (r.exit_code != 0) die("gpg --quick-gen-key: " + r.err);
  r = must(run_process({"gpg", "--homedir", home.string(), "--batch", "--with-colons",
                        "--list-secret-keys"}),
           "gpg");
  auto pos = r.out.find("\nfpr:");
  if (pos == std::string::npos) die("no fingerprint from gpg");
  std::string line = r.out.substr(pos + 1, r.out.find('\n', pos + 1) - pos - 1);
  while (!line.empty() && line.back() == ':') line.pop_back();
  return line.substr(line.rfind(':') + 1);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root, packages_file, debs_dir, gnupghome;
  std::vector<fs::path> change_debs;
  std::string key, repo = "bench";
  size_t limit = 0;
  int repeat = 1;
  bool breakdown = false;
  bool reuse = false;  // --reuse: ROOT holds the store of an earlier run; skip the import
  unsigned workers = 2;
  uint32_t xz_preset = 6;
  int gzip_level = 9;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--root") root = next();
    else if (a == "--packages") packages_file = next();
    else if (a == "--limit") limit = std::stoul(next());
    else if (a == "--debs") debs_dir = next();
    else if (a == "--change-deb") change_debs.emplace_back(next());
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--workers") workers = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--xz-preset") xz_preset = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--gzip-level") gzip_level = std::stoi(next());
    else if (a == "--gnupghome") gnupghome = next();
    else if (a == "--key") key = next();
    else if (a == "--repo") repo = next();
    else if (a == "--breakdown") breakdown = true;
    else if (a == "--reuse") reuse = true;
    else die("unknown argument " + a);
  }
  if (root.empty() || (!reuse && packages_file.empty() == debs_dir.empty())) {
    die("usage: --root DIR (--packages FILE [--limit N] | --debs DIR) "
        "[--change-deb FILE]... [--breakdown] [--repeat N] [--workers W] [--xz-preset P] [--gzip-level L] "
        "[--gnupghome H --key ID] [--repo NAME]");
  }
  if (!reuse && fs::exists(root) && !fs::is_empty(root)) {
    die(root.string() + " must be empty or absent");
  }
  if (reuse) {
    for (const char* d : {"gnupg", "public-noxz-1", "public-xz-1", "public-warm-1", "cache-noxz-1",
                          "cache-xz-1"}) {
      fs::remove_all(root / d);
    }
  }
  fs::create_directories(root);
  const bool own_key = key.empty();
  if (own_key) {
    gnupghome = root / "gnupg";
    key = make_key(gnupghome);
  }

  Logger logger(LogLevel::kWarn);
  auto store = must(pool::PoolStore::open(root / "depot", logger), "open store");
  if (!reuse) must(store->create_repo(repo), "create repo");

  // Import: every package into the pool and the repository.
  const fs::path stand_ins = root / "stand-ins";
  // In a child, like every phase: a forked child inherits its parent's peak RSS, so the parent
  // never holds the imported records.
  if (!reuse) {
    in_child([&] {
      double t0 = now_s();
      std::vector<int64_t> ids;
      if (!packages_file.empty()) {
        std::vector<pool::Package> pkgs = load_packages(packages_file, limit);
        fs::create_directories(stand_ins);
        std::vector<pool::PoolStore::ImportItem> items;
        for (pool::Package& p : pkgs) {
          make_stand_in(p, stand_ins);
          items.push_back({&p, stand_ins / p.file.filename});
        }
        ids = must(store->import_many(items), "import");
      } else {
        std::vector<fs::path> debs;
        for (const auto& e : fs::directory_iterator(debs_dir)) {
          if (e.path().extension() == ".deb") debs.push_back(e.path());
        }
        std::sort(debs.begin(), debs.end());
        std::vector<pool::Package> pkgs;
        for (const fs::path& d : debs) pkgs.push_back(must(pool::read_deb(d), "read_deb"));
        std::vector<pool::PoolStore::ImportItem> items;
        for (size_t i = 0; i < debs.size(); ++i) items.push_back({&pkgs[i], debs[i]});
        ids = must(store->import_many(items), "import");
      }
      must(store->change_membership(repo, ids, {}), "add to repo");
      print_phase("import", 0, now_s() - t0, maxrss_kib(),
                  ",\"packages\":" + std::to_string(ids.size()));
    });
  }
  malloc_trim(0);

  // The pool is made in each child (threads do not survive fork).
  auto settings = [&](const fs::path& pub, bool xz, const pool::ChunkCache* cache,
                      WorkPool* work) {
    pool::PublishSettings s;
    s.public_dir = pub;
    s.architectures = {"amd64"};
    s.index.write_xz = xz;
    s.index.xz_preset = xz_preset;
    s.index.gzip_level = gzip_level;
    s.index.signing = pool::SigningKey{gnupghome, key};
    s.index.cache = cache;
    s.index.pool = work;
    return s;
  };
  auto publish = [&](const std::string& phase, int rep, const fs::path& pub, bool xz,
                     const fs::path& cache_dir) {
    in_child([&] {
      fs::create_directories(pub);
      pool::ChunkCache cache(cache_dir);
      double t0 = now_s();
      WorkPool work(std::max(1u, workers) - 1);
      pool::PublishReport r =
          must(pool::publish_repo(*store, repo, settings(pub, xz, &cache, &work)), "publish");
      print_phase(phase, rep, now_s() - t0, maxrss_kib(),
                  ",\"packages\":" + std::to_string(r.packages) +
                      ",\"index_files\":" + std::to_string(r.index_files) +
                      ",\"pool_links\":" + std::to_string(r.pool_links) +
                      ",\"chunks_compressed\":" + std::to_string(r.chunks_compressed) +
                      ",\"chunks_reused\":" + std::to_string(r.chunks_reused) +
                      ",\"ms\":{\"list\":" + std::to_string(r.ms.list) +
                      ",\"indexes\":" + std::to_string(r.ms.indexes) +
                      ",\"write\":" + std::to_string(r.ms.write) +
                      ",\"links\":" + std::to_string(r.ms.links) +
                      ",\"carry\":" + std::to_string(r.ms.carry) +
                      ",\"sync\":" + std::to_string(r.ms.sync) +
                      ",\"cleanup\":" + std::to_string(r.ms.cleanup) + "}");
    });
  };

  // Where a publish spends its time: each step of it alone, once, in a child.
  if (breakdown) {
    in_child([&] {
      auto step = [](const char* name, double t0, size_t bytes) {
        std::printf("{\"tool\":\"depot\",\"phase\":\"step_%s\",\"rep\":0,\"seconds\":%.4f,"
                    "\"max_rss_kib\":%ld,\"bytes\":%zu}\n",
                    name, now_s() - t0, maxrss_kib(), bytes);
      };
      double t0 = now_s();
      auto texts = must(store->list_texts(repo), "list");
      step("list", t0, texts.size());
      std::vector<const pool::PackageText*> ptrs;
      for (const auto& p : texts) ptrs.push_back(&p);
      t0 = now_s();
      std::string text = must(pool::render_packages(ptrs, "main"), "render");
      step("render", t0, text.size());
      WorkPool work(std::max(1u, workers) - 1);
      for (bool xz : {false, true}) {
        t0 = now_s();
        auto f = must(pool::build_packages_file(
                          ptrs, "main",
                          {.write_xz = xz, .xz_preset = xz_preset, .pool = &work}),
                      "packages");
        step(xz ? ("packages_xz" + std::to_string(xz_preset)).c_str() : "packages_gz", t0,
             f.gz.size() + f.xz.size());
      }
      t0 = now_s();
      (void)must(pool::sign_release("Origin: bench\n", pool::SigningKey{gnupghome, key}), "sign");
      step("sign", t0, 0);
    });
  }

  // Per repetition: two full publishes into fresh public directories, then one package
  // changes (a new version replaces the current one) and the xz publication is republished
  // over its previous generation.
  for (int rep = 1; rep <= repeat; ++rep) {
    const std::string r = std::to_string(rep);
    publish("publish_noxz", rep, root / ("public-noxz-" + r), false, root / ("cache-noxz-" + r));
    const fs::path pub = root / ("public-xz-" + r), cache = root / ("cache-xz-" + r);
    publish("publish_xz", rep, pub, true, cache);
    publish("publish_xz_warm", rep, root / ("public-warm-" + r), true, cache);

    // In a child too: a forked child inherits its parent's peak RSS, so the parent stays small.
    in_child([&] {
      double t0 = now_s();
      pool::Package p;
      fs::path file;
      if (!change_debs.empty()) {
        file = change_debs[(rep - 1) % change_debs.size()];
        p = must(pool::read_deb(file), "read_deb");
      } else {
        auto listed = must(store->list(repo), "list");
        p = listed[listed.size() / 2].package;
        if (auto plus = p.version.find("+bench"); plus != std::string::npos) p.version.resize(plus);
        p.version += "+bench" + std::to_string(rep);
        fs::create_directories(stand_ins);
        make_stand_in(p, stand_ins);
        file = stand_ins / p.file.filename;
      }
      int64_t id = must(store->import(p, file), "import changed");
      std::vector<int64_t> remove;
      for (const pool::StoredPackage& sp : must(store->list(repo), "list")) {
        if (sp.package.name == p.name && sp.package.architecture == p.architecture && sp.id != id) {
          remove.push_back(sp.id);
        }
      }
      must(store->change_membership(repo, {id}, remove), "change membership");
      print_phase("change", rep, now_s() - t0, maxrss_kib(),
                  ",\"package\":\"" + p.name + "\",\"removed\":" + std::to_string(remove.size()));
    });
    publish("republish", rep, pub, true, cache);
  }

  if (own_key) {
    (void)run_process({"gpgconf", "--homedir", gnupghome.string(), "--kill", "all"});
  }
  return 0;
}
