#include "pool/apt_index.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "core/digest.h"
#include "core/file_io.h"
#include "core/subprocess.h"
#include "pool/paragraph.h"
#include "sources/apt/release.h"
#include "sources/decompress.h"
#include "support/pool_index.h"
#include "support/temp_dir.h"
#include "support/test_http_server.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;
using depot::testing::decompressed;
using depot::testing::index_record;
using depot::testing::paragraph_order;
using depot::testing::text_ptrs;

Digests digests_of(std::string_view data) { return depot::testing::all_digests(data); }

std::map<std::string, std::shared_ptr<const std::string>> by_path(
    const std::vector<PublishedFile>& files) {
  std::map<std::string, std::shared_ptr<const std::string>> m;
  for (const auto& f : files) EXPECT_TRUE(m.emplace(f.path, f.content).second) << f.path;
  return m;
}

TEST(AptIndex, PoolPathRules) {
  EXPECT_EQ(pool_path(index_record("jq", "1.6-2.1", "amd64"), "main"),
            "pool/main/j/jq/jq_1.6-2.1_amd64.deb");
  EXPECT_EQ(pool_path(index_record("libjq1", "1.6-2.1", "amd64"), "main"),
            "pool/main/libj/libjq1/libjq1_1.6-2.1_amd64.deb");
  EXPECT_EQ(pool_path(index_record("libjq1", "1.6-2.1", "amd64", {{"Source", "jq"}}), "contrib"),
            "pool/contrib/j/jq/libjq1_1.6-2.1_amd64.deb");
  EXPECT_EQ(pool_path(index_record("foo-bin", "1.2+b1", "amd64", {{"Source", "foo (1.2)"}}), "main"),
            "pool/main/f/foo/foo-bin_1.2+b1_amd64.deb");
  EXPECT_EQ(pool_path(index_record("bar", "1", "all", {{"source", "libbar (1)"}}), "main"),
            "pool/main/libb/libbar/bar_1_all.deb");
  EXPECT_EQ(pool_path(index_record("lib", "1", "all"), "main"), "pool/main/l/lib/lib_1_all.deb");
}

TEST(AptIndex, ReleaseDateFormat) {
  EXPECT_EQ(format_release_date(std::chrono::system_clock::time_point{}),
            "Thu, 01 Jan 1970 00:00:00 UTC");
  EXPECT_EQ(format_release_date(std::chrono::system_clock::from_time_t(1795301715)),
            "Sat, 21 Nov 2026 22:55:15 UTC");
}

TEST(AptIndex, RenderReleaseFieldsAndSections) {
  ReleaseInfo info{.origin = "depot",
                   .label = "Depot",
                   .suite = "stable",
                   .codename = "",
                   .date = "Thu, 01 Jan 1970 00:00:00 UTC",
                   .architectures = {"amd64", "arm64"},
                   .components = {"main"},
                   .description = ""};
  IndexFile f{"main/binary-amd64/Packages", 12, digests_of("x")};
  std::string r = render_release(info, std::span(&f, 1));
  EXPECT_EQ(r,
            "Origin: depot\nLabel: Depot\nSuite: stable\nDate: Thu, 01 Jan 1970 00:00:00 UTC\n"
            "Architectures: amd64 arm64\nComponents: main\nAcquire-By-Hash: yes\n"
            "MD5Sum:\n " +
                f.digests.md5 +
                "               12 main/binary-amd64/Packages\n"
                "SHA1:\n " +
                f.digests.sha1 +
                "               12 main/binary-amd64/Packages\n"
                "SHA256:\n " +
                f.digests.sha256 + "               12 main/binary-amd64/Packages\n");
}

ReleaseInfo test_info() {
  return ReleaseInfo{.origin = "depot",
                     .label = "depot test",
                     .suite = "stable",
                     .codename = "stable",
                     .date = "Sat, 21 Nov 2026 22:55:15 UTC",
                     .architectures = {},
                     .components = {},
                     .description = "test repository"};
}

TEST(AptIndex, PublicationListsEveryIndexWithSizesAndDigests) {
  TempDir tmp;
  std::vector<Package> mainp = {index_record("jq", "1.6", "amd64"), index_record("jq", "1.6", "arm64"),
                                index_record("docs", "2", "all")};
  std::vector<Package> contrib = {index_record("tool", "3", "arm64")};
  std::vector<ComponentPackages> comps = {{"main", text_ptrs(mainp)}, {"contrib", text_ptrs(contrib)}};
  PublishOptions opts;
  auto pub = build_publication(test_info(), comps, opts);
  ASSERT_TRUE(pub.ok()) << pub.error().to_string();
  auto files = by_path(*pub);
  EXPECT_EQ(pub->back().path, "dists/stable/Release");

  const std::string& release_text = *files.at("dists/stable/Release");
  auto rel = apt::parse_release(release_text, "Release");
  ASSERT_TRUE(rel.ok()) << rel.error().to_string();
  EXPECT_EQ(rel->architectures, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_EQ(rel->components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_TRUE(rel->acquire_by_hash);
  EXPECT_EQ(rel->date, "Sat, 21 Nov 2026 22:55:15 UTC");
  EXPECT_NE(release_text.find("Description: test repository\n"), std::string::npos);

  std::vector<std::string> listed;
  for (const auto& f : rel->files) {
    listed.push_back(f.path);
    auto it = files.find("dists/stable/" + f.path);
    ASSERT_NE(it, files.end()) << f.path;
    Digests want = digests_of(*it->second);
    EXPECT_EQ(f.size, it->second->size()) << f.path;
    EXPECT_EQ(f.digests.md5, want.md5) << f.path;
    EXPECT_EQ(f.digests.sha1, want.sha1) << f.path;
    EXPECT_EQ(f.digests.sha256, want.sha256) << f.path;
    std::string dir = "dists/stable/" + f.path.substr(0, f.path.rfind('/') + 1) + "by-hash/";
    EXPECT_EQ(files.at(dir + "MD5Sum/" + want.md5), it->second);
    EXPECT_EQ(files.at(dir + "SHA1/" + want.sha1), it->second);
    EXPECT_EQ(files.at(dir + "SHA256/" + want.sha256), it->second);
  }
  std::vector<std::string> want_listed;
  for (std::string c : {"main", "contrib"}) {
    for (std::string a : {"amd64", "arm64"}) {
      for (std::string n : {"Packages", "Packages.gz", "Packages.xz"}) {
        want_listed.push_back(c + "/binary-" + a + "/" + n);
      }
    }
  }
  EXPECT_EQ(listed, want_listed);
  EXPECT_EQ(files.size(), want_listed.size() * 4 + 1);  // + by-hash x3, + Release

  // "all" packages are in every architecture; contrib/binary-amd64 is empty but present.
  EXPECT_EQ(paragraph_order(*files.at("dists/stable/main/binary-amd64/Packages")),
            (std::vector<std::string>{"docs 2 all", "jq 1.6 amd64"}));
  EXPECT_EQ(paragraph_order(*files.at("dists/stable/main/binary-arm64/Packages")),
            (std::vector<std::string>{"docs 2 all", "jq 1.6 arm64"}));
  EXPECT_EQ(*files.at("dists/stable/contrib/binary-amd64/Packages"), "");
  EXPECT_NE(files.at("dists/stable/contrib/binary-arm64/Packages")
                ->find("Filename: pool/contrib/t/tool/tool_3_arm64.deb\n"),
            std::string::npos);
  EXPECT_EQ(decompressed(*files.at("dists/stable/main/binary-arm64/Packages.xz"), tmp),
            *files.at("dists/stable/main/binary-arm64/Packages"));

  // Same input, same bytes.
  auto again = build_publication(test_info(), comps, opts);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), pub->size());
  for (size_t i = 0; i < pub->size(); ++i) {
    EXPECT_EQ((*again)[i].path, (*pub)[i].path);
    EXPECT_EQ(*(*again)[i].content, *(*pub)[i].content) << (*pub)[i].path;
  }

  // Given architectures are kept in order, "all" dropped; without xz there is no Packages.xz.
  ReleaseInfo info = test_info();
  info.architectures = {"arm64", "all", "riscv64"};
  opts.write_xz = false;
  auto only = build_publication(info, comps, opts);
  ASSERT_TRUE(only.ok());
  auto only_files = by_path(*only);
  auto only_rel = apt::parse_release(*only_files.at("dists/stable/Release"), "Release");
  ASSERT_TRUE(only_rel.ok());
  EXPECT_EQ(only_rel->architectures, (std::vector<std::string>{"arm64", "riscv64"}));
  EXPECT_EQ(paragraph_order(*only_files.at("dists/stable/main/binary-riscv64/Packages")),
            (std::vector<std::string>{"docs 2 all"}));
  EXPECT_FALSE(only_files.contains("dists/stable/main/binary-arm64/Packages.xz"));
}

TEST(AptIndex, PublicationRefusesUnusableNames) {
  std::vector<Package> v = {index_record("a", "1", "amd64")};
  ReleaseInfo info = test_info();
  std::vector<ComponentPackages> comps = {{"main", text_ptrs(v)}};
  for (std::string suite : {"", "..", "a/b", "a b"}) {
    info.suite = suite;
    auto r = build_publication(info, comps);
    ASSERT_FALSE(r.ok()) << suite;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  info = test_info();
  std::vector<ComponentPackages> twice = {{"main", text_ptrs(v)}, {"main", {}}};
  EXPECT_FALSE(build_publication(info, twice).ok());
  std::vector<ComponentPackages> bad = {{"../x", text_ptrs(v)}};
  EXPECT_FALSE(build_publication(info, bad).ok());
  std::vector<Package> all_only = {index_record("a", "1", "all")};
  std::vector<ComponentPackages> no_arch = {{"main", text_ptrs(all_only)}};
  auto r = build_publication(info, no_arch);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no architecture"), std::string::npos);
}

TEST(AptIndex, WritePublicationHardLinksByHashCopies) {
  TempDir tmp;
  std::vector<Package> v = {index_record("a", "1", "amd64")};
  std::vector<ComponentPackages> comps = {{"main", text_ptrs(v)}};
  auto pub = build_publication(test_info(), comps);
  ASSERT_TRUE(pub.ok());
  auto root = tmp.path() / "public";
  for (int round = 0; round < 2; ++round) {  // the second round replaces every file
    auto st = write_publication(*pub, root);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }
  for (const auto& f : *pub) {
    auto got = read_whole_file(root / f.path, f.path);
    ASSERT_TRUE(got.ok()) << f.path;
    EXPECT_EQ(*got, *f.content) << f.path;
  }
  auto plain = root / "dists/stable/main/binary-amd64/Packages.gz";
  Digests d = digests_of(*read_whole_file(plain, "gz"));
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat(plain.c_str(), &a), 0);
  ASSERT_EQ(::stat((root / "dists/stable/main/binary-amd64/by-hash/SHA256" / d.sha256).c_str(), &b),
            0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 4u);

  std::vector<PublishedFile> unsafe = {{"../escape", std::make_shared<const std::string>("x")}};
  auto st = write_publication(unsafe, root);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnsafePath);
}

TEST(AptIndex, SigningErrorNamesKeyAndGpgStderr) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "gnupg");
  std::filesystem::permissions(tmp.path() / "gnupg", std::filesystem::perms::owner_all);
  auto r = sign_release("Suite: x\n", SigningKey{tmp.path() / "gnupg", "NO-SUCH-KEY-1234"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kSignature);
  EXPECT_NE(r.error().message.find("NO-SUCH-KEY-1234"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("No secret key"), std::string::npos) << r.error().message;
  (void)run_process({"gpgconf", "--homedir", (tmp.path() / "gnupg").string(), "--kill", "all"});
}

// Runs `argv`; a failure to start or a non-zero exit fails the test with the output.
std::string must_run(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  auto r = run_process(argv, ProcessOptions{.timeout = std::chrono::seconds(120)});
  if (!r.ok()) {
    ADD_FAILURE() << cmd << ": " << r.error().to_string();
    return "";
  }
  EXPECT_EQ(r->exit_code, 0) << cmd << "\n" << r->out << r->err;
  return r->out;
}

bool have_tool(const std::string& tool) {
  auto r = run_process({"sh", "-c", "command -v " + tool});
  return r.ok() && r->exit_code == 0;
}

// A private GNUPGHOME whose gpg-agent is stopped at the end.
class GnupgHome {
 public:
  explicit GnupgHome(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  }
  ~GnupgHome() { (void)run_process({"gpgconf", "--homedir", dir_.string(), "--kill", "all"}); }
  const std::filesystem::path& dir() const { return dir_; }

  // Makes a throwaway ed25519 signing key; returns its fingerprint.
  std::string make_key() {
    must_run({"gpg", "--homedir", dir_.string(), "--batch", "--passphrase", "", "--quick-gen-key",
              "depot test <test@depot.test>", "ed25519", "sign", "never"});
    std::string list = must_run(
        {"gpg", "--homedir", dir_.string(), "--batch", "--with-colons", "--list-secret-keys"});
    size_t fpr = list.find("\nfpr:");
    if (fpr == std::string::npos) return "";
    std::string line = list.substr(fpr + 1, list.find('\n', fpr + 1) - fpr - 1);
    std::vector<std::string> cols;
    for (size_t pos = 0;; pos = line.find(':', pos) + 1) {
      cols.push_back(line.substr(pos, line.find(':', pos) - pos));
      if (line.find(':', pos) == std::string::npos) break;
    }
    return cols.size() > 9 ? cols[9] : "";
  }

 private:
  std::filesystem::path dir_;
};

// Builds a .deb from `fields` with dpkg-deb; returns the Package record for it, filled by hand
// from the same fields and the file's digests (what an import would store).
Package build_deb(const std::filesystem::path& work,
                  std::vector<std::pair<std::string, std::string>> fields) {
  Package p;
  p.format = "deb";
  std::string control;
  for (const auto& [name, value] : fields) {
    control += name + ": " + value + "\n";
    if (name == "Package") p.name = value;
    if (name == "Version") p.version = value;
    if (name == "Architecture") p.architecture = value;
  }
  p.fields = std::move(fields);
  std::string version = p.version.substr(p.version.find(':') + 1);
  p.file.filename = p.name + "_" + version + "_" + p.architecture + ".deb";
  auto tree = work / p.name;
  std::filesystem::create_directories(tree / "DEBIAN");
  std::filesystem::create_directories(tree / "usr/share" / p.name);
  EXPECT_TRUE(write_whole_file(tree / "DEBIAN/control", control).ok());
  EXPECT_TRUE(write_whole_file(tree / "usr/share" / p.name / "data", "data of " + p.name).ok());
  auto deb = work / p.file.filename;
  must_run({"dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree.string(), deb.string()});
  p.file.size = std::filesystem::file_size(deb);
  auto d = hash_file(deb.string(), Hasher::kAllAlgorithms);
  EXPECT_TRUE(d.ok());
  if (d.ok()) p.file.digests = *d;
  return p;
}

// `path` with every byte other than [A-Za-z0-9/._-] as %xx (the TestServer does not decode).
std::string percent_encoded(const std::string& path, const char* hex_format) {
  std::string out;
  for (char c : path) {
    if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-", c) != nullptr) {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, hex_format, static_cast<unsigned char>(c));
      out += '%';
      out += buf;
    }
  }
  return out;
}

TEST(AptIndex, AptGetUpdatesAndDownloadsFromSignedPublication) {
  for (const char* tool : {"apt-get", "dpkg-deb", "gpg", "gpgconf", "env"}) {
    if (!have_tool(tool)) GTEST_SKIP() << tool << " is not installed";
  }
  TempDir tmp;
  GnupgHome gnupg(tmp.path() / "gnupg");
  std::string fpr = gnupg.make_key();
  ASSERT_EQ(fpr.size(), 40u);
  auto keyring = tmp.path() / "key.gpg";
  must_run({"gpg", "--homedir", gnupg.dir().string(), "--batch", "--yes", "--output",
            keyring.string(), "--export", fpr});

  auto work = tmp.path() / "build";
  const std::string maint = "depot tests <test@depot.test>";
  std::vector<Package> pkgs = {
      build_deb(work, {{"Package", "depot-hello"},
                       {"Version", "1.0-1"},
                       {"Architecture", "amd64"},
                       {"Maintainer", maint},
                       {"Depends", "depot-data, libdepot1 (>= 2.0)"},
                       {"Description", "hello from depot\n A tiny test package."}}),
      build_deb(work, {{"Package", "libdepot1"},
                       {"Source", "depot-src (2.0)"},
                       {"Version", "2.0-1+b1"},
                       {"Architecture", "amd64"},
                       {"Maintainer", maint},
                       {"Description", "depot library"}}),
      build_deb(work, {{"Package", "depot-data"},
                       {"Version", "1:0.5"},
                       {"Architecture", "all"},
                       {"Maintainer", maint},
                       {"Description", "depot data"}}),
  };
  ASSERT_FALSE(HasFailure());

  ReleaseInfo info = test_info();
  info.architectures = {"amd64", "arm64"};
  std::vector<ComponentPackages> comps = {{"main", text_ptrs(pkgs)}};
  PublishOptions opts;
  opts.signing = SigningKey{gnupg.dir(), fpr};
  auto pub = build_publication(info, comps, opts);
  ASSERT_TRUE(pub.ok()) << pub.error().to_string();
  auto root = tmp.path() / "public";
  auto st = write_publication(*pub, root);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  for (const Package& p : pkgs) {
    auto target = root / pool_path(p, "main");
    std::filesystem::create_directories(target.parent_path());
    std::filesystem::copy_file(work / p.file.filename, target);
  }
  EXPECT_TRUE(std::filesystem::exists(root / "pool/main/d/depot-src/libdepot1_2.0-1+b1_amd64.deb"));

  depot::testing::TestServer server;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    auto body = read_whole_file(e.path(), e.path().string());
    ASSERT_TRUE(body.ok());
    std::string path = "/" + e.path().lexically_relative(root).string();
    server.route(path, {{200, *body}});
    server.route(percent_encoded(path, "%02x"), {{200, *body}});  // apt asks for "1.0-1%2bb1"
    server.route(percent_encoded(path, "%02X"), {{200, *body}});
  }

  // apt-get with every directory private to this test (as tests/integration/apt_harness.py).
  auto apt = tmp.path() / "apt";
  for (const char* d : {"etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d",
                        "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial",
                        "var/cache/apt/archives/partial", "var/lib/dpkg", "log", "download"}) {
    std::filesystem::create_directories(apt / d);
  }
  const std::string a = apt.string();
  ASSERT_TRUE(write_whole_file(apt / "var/lib/dpkg/status", "").ok());
  ASSERT_TRUE(write_whole_file(
                  apt / "etc/apt/sources.list",
                  "deb [signed-by=" + keyring.string() + "] " + server.url("/") + " stable main\n")
                  .ok());
  ASSERT_TRUE(write_whole_file(apt / "apt.conf", "Dir \"" + a +
                                                     "/\";\n"
                                                     "Dir::State::status \"" +
                                                     a +
                                                     "/var/lib/dpkg/status\";\n"
                                                     "Dir::Etc::main \"" +
                                                     a +
                                                     "/etc/apt/apt.conf\";\n"
                                                     "Dir::Etc::Parts \"" +
                                                     a +
                                                     "/etc/apt/apt.conf.d\";\n"
                                                     "Dir::Etc::TrustedParts \"" +
                                                     a +
                                                     "/etc/apt/trusted.gpg.d\";\n"
                                                     "Dir::Log \"" +
                                                     a +
                                                     "/log\";\n"
                                                     "APT::Architecture \"amd64\";\n"
                                                     "APT::Sandbox::User \"root\";\n"
                                                     "Debug::NoLocking \"true\";\n"
                                                     "Acquire::Languages \"none\";\n"
                                                     "Acquire::Retries \"0\";\n")
                  .ok());
  auto apt_get = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "env", "-C", a + "/download", "APT_CONFIG=" + a + "/apt.conf", "LC_ALL=C", "apt-get", "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv, ProcessOptions{.timeout = std::chrono::seconds(120)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProcessResult{};
  };

  ProcessResult update = apt_get({"update"});
  std::string output = update.out + update.err;
  EXPECT_EQ(update.exit_code, 0) << output;
  for (const char* bad : {"\nE:", "\nW:", "\nErr:"}) {
    EXPECT_EQ(("\n" + output).find(bad), std::string::npos) << output;
  }
  EXPECT_GE(server.hits("/dists/stable/InRelease"), 1);
  auto xz = by_path(*pub).at("dists/stable/main/binary-amd64/Packages.xz");
  EXPECT_GE(server.hits("/dists/stable/main/binary-amd64/by-hash/SHA256/" + digests_of(*xz).sha256),
            1)
      << "apt did not fetch Packages.xz by hash";

  // The signature is really checked: an altered InRelease is refused.
  std::string inrelease = *by_path(*pub).at("dists/stable/InRelease");
  size_t label = inrelease.find("Label: depot test");
  ASSERT_NE(label, std::string::npos);
  std::string tampered = inrelease;
  tampered.replace(label, 17, "Label: depot TEST");
  server.route("/dists/stable/InRelease", {{200, tampered}});
  ProcessResult refused = apt_get({"update"});
  std::string refused_out = "\n" + refused.out + refused.err;
  EXPECT_TRUE(refused_out.find("\nE:") != std::string::npos ||
              refused_out.find("\nW:") != std::string::npos)
      << refused_out;
  server.route("/dists/stable/InRelease", {{200, inrelease}});

  ProcessResult download = apt_get({"download", "depot-hello", "libdepot1", "depot-data"});
  EXPECT_EQ(download.exit_code, 0) << download.out << download.err;
  std::vector<std::string> got, want;
  for (const auto& e : std::filesystem::directory_iterator(apt / "download")) {
    auto body = read_whole_file(e.path(), e.path().string());
    ASSERT_TRUE(body.ok());
    got.push_back(digests_of(*body).sha256);
  }
  for (const Package& p : pkgs) want.push_back(p.file.digests.sha256);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace depot::pool
