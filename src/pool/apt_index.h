#pragma once
// apt repository indexes generated from Package records alone (never by re-reading package
// files): Packages (plain, gzip, xz), Release with by-hash copies, and the signed InRelease and
// Release.gpg. Every byte is a function of the inputs: same records and options, same files.
// Thread-safe (no shared state); the functions may run concurrently on different inputs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/result.h"
#include "core/work_pool.h"
#include "pool/chunk_cache.h"
#include "pool/package.h"
#include "pool/packages_file.h"

namespace depot::pool {

// pool_path (packages_file.h) of a package record.
std::string pool_path(const Package& p, std::string_view component);

// The checksum sections of Release, in order; their names are also the by-hash directories.
struct ReleaseSection {
  const char* name;
  DigestAlgo algo;
};
inline constexpr ReleaseSection kReleaseSections[] = {
    {"MD5Sum", DigestAlgo::kMd5}, {"SHA1", DigestAlgo::kSha1}, {"SHA256", DigestAlgo::kSha256}};
// One file listed in Release.
struct IndexFile {
  std::string path;  // relative to dists/<suite>/, e.g. "main/binary-amd64/Packages.gz"
  uint64_t size = 0;
  Digests digests;  // md5, sha1 and sha256 set
};

struct ReleaseInfo {
  std::string origin, label, suite, codename;  // empty ones are left out (suite is required)
  std::string date;                            // RFC 2822 in UTC, see format_release_date
  std::vector<std::string> architectures;      // in the order to list them
  std::vector<std::string> components;
  std::string description;  // optional
};

// "Sat, 21 Nov 2026 22:55:15 UTC" (English names, whatever the locale).
std::string format_release_date(std::chrono::system_clock::time_point t);

// Release: Origin, Label, Suite, Codename, Date, Architectures, Components,
// Acquire-By-Hash: yes, Description, then the MD5Sum, SHA1 and SHA256 sections, each listing
// every entry of `files` in the given order as " <hex> <size, right-aligned to 16> <path>".
std::string render_release(const ReleaseInfo& info, std::span<const IndexFile> files);

// A gpg key: `gpg --homedir gnupg_home --local-user key_id`.
struct SigningKey {
  std::filesystem::path gnupg_home;
  std::string key_id;
};

struct ReleaseSignatures {
  std::string inrelease;    // gpg --clearsign
  std::string release_gpg;  // gpg --armor --detach-sign
};

// Signs `release` with gpg --batch --yes (run through depot::run_process, the release text in
// a private temporary directory removed afterwards). A failure is a kSignature error naming
// the key and carrying gpg's stderr.
Result<ReleaseSignatures> sign_release(std::string_view release, const SigningKey& key);

// The packages of one component, of any architectures ("all" included).
struct ComponentPackages {
  std::string component;
  std::vector<const PackageText*> packages;
};

// A file published beside one Packages file (the Packages.diff/ of pdiffs), its path relative
// to the Packages file's directory.
struct IndexExtra {
  std::string path;  // e.g. "Packages.diff/Index"
  std::shared_ptr<const std::string> content;
  bool in_release = false;  // listed in Release (with by-hash copies) when true
};
// Asked once per Packages file of a publication: the suite, the directory relative to
// dists/<suite>/ (e.g. "main/binary-amd64/") and the Packages file's digests. Called from the
// publishing thread.
using IndexExtras = std::function<std::vector<IndexExtra>(
    const std::string& suite, const std::string& dir, const Digests& packages)>;

struct PublishOptions {
  int gzip_level = 9;
  bool write_xz = true;  // Packages.xz (the slow part) can be left out
  uint32_t xz_preset = 6;
  std::optional<SigningKey> signing;  // InRelease and Release.gpg when set
  const ChunkCache* cache = nullptr;  // compressed chunks of earlier publications
  WorkPool* pool = nullptr;           // compression and hashing run here (else inline)
  IndexExtras extras;                 // files beside each Packages file (none when unset)
};

// One file of a publication. By-hash copies share `content` with the file they copy.
struct PublishedFile {
  std::string path;  // relative to the publication root, e.g. "dists/stable/Release"
  std::shared_ptr<const std::string> content;
};

// Every file of one publication of suite `info.suite`, under dists/<suite>/ (pool files are
// not included), the Packages files built by build_packages_file:
//   <component>/binary-<arch>/Packages, Packages.gz, Packages.xz (when write_xz),
//   <component>/binary-<arch>/by-hash/{MD5Sum,SHA1,SHA256}/<hex> copies of those,
//   what opts.extras gives for each Packages file (those in_release listed and by-hash too),
//   Release, and InRelease and Release.gpg when signing.
// <arch> ranges over info.architectures ("all" dropped) or, when that is empty, the sorted
// architectures of the packages other than "all"; a package of architecture "all" is listed in
// every <arch>'s Packages, and every component gets every <arch> (possibly empty). Components
// are listed in the order of `components`; info.components is ignored. Errors
// (kInvalidArgument) for an unusable suite, component or architecture name, duplicate
// components, or no architecture at all; signing errors as sign_release. Index files come
// first in the result, Release and its signatures last.
// A publication split in two: prepare_publication checks the names and renders every Packages
// text (the packages are no longer needed afterwards); finish_publication compresses, hashes,
// writes Release and signs. build_publication is the two in a row.
struct PreparedPublication {
  ReleaseInfo release;  // architectures and components as they will be listed
  struct Index {
    std::string dir;  // relative to dists/<suite>/, e.g. "main/binary-amd64/"
    RenderedPackages packages;
  };
  std::vector<Index> indexes;
};
Result<PreparedPublication> prepare_publication(const ReleaseInfo& info,
                                                std::span<const ComponentPackages> components);

struct PublicationStats {
  uint64_t chunks = 0, compressed = 0, reused = 0;  // summed over the Packages files
};
Result<std::vector<PublishedFile>> build_publication(const ReleaseInfo& info,
                                                     std::span<const ComponentPackages> components,
                                                     const PublishOptions& opts = {},
                                                     PublicationStats* stats = nullptr);
Result<std::vector<PublishedFile>> finish_publication(PreparedPublication prepared,
                                                      const PublishOptions& opts = {},
                                                      PublicationStats* stats = nullptr);

// Writes `files` under `root` (created as needed; an existing file is unlinked and replaced,
// never written through). A file sharing its content with one already written is a hard link
// to it (a copy where linking fails). With `sync`, every file written and every directory from
// them up to `root` is fsynced. Errors are kIo naming the path (kUnsafePath for a path that is
// not a plain relative one).
Status write_publication(std::span<const PublishedFile> files, const std::filesystem::path& root,
                         bool sync = true);

}  // namespace depot::pool
