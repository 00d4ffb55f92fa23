#pragma once
// apt repository indexes generated from Package records alone (never by re-reading package
// files): Packages (plain, gzip, xz), Release with by-hash copies, and the signed InRelease and
// Release.gpg. Every byte is a function of the inputs: same records and options, same files.
// Thread-safe (no shared state); the functions may run concurrently on different inputs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/result.h"
#include "pool/package.h"

namespace depot::pool {

// The path of `p`'s file relative to the publication root:
// "pool/<component>/<prefix>/<dir>/<p.file.filename>", where <dir> is the source package name
// (the "Source" field without its "(version)" suffix) or, without that field, p.name; <prefix>
// is <dir>'s first four characters when <dir> starts with "lib" and is longer than three, else
// its first character. Pure string work: names are not validated here.
std::string pool_path(const Package& p, std::string_view component);

// The order of paragraphs in a Packages file: name (bytewise), then version (dpkg ordering),
// then architecture (bytewise), then file name. A strict weak ordering.
bool package_order_less(const Package& a, const Package& b);

// A Packages file: one paragraph per package in package_order_less order, each paragraph
// "Package" first, then p.fields in their stored order (a stored Package, Filename, Size or
// checksum field is skipped), then Filename (pool_path(p, component)), Size, MD5sum, SHA1 and
// SHA256; paragraphs separated by one empty line. `pkgs` itself is not reordered.
std::string render_packages(std::span<const Package* const> pkgs, std::string_view component);

// gzip (RFC 1952) with no file name and mtime 0: identical bytes for identical input and level.
Result<std::string> gzip_compress(std::string_view data, int level = 9);

struct XzOptions {
  uint32_t threads = 1;     // liblzma encoder threads; 0 = the number of CPUs
  uint64_t block_size = 0;  // bytes of input per xz block; 0 = liblzma's default (3 x dict)
  uint32_t preset = 6;      // 0..9, as xz -0..-9
};
// xz with a CRC64 check via lzma_stream_encoder_mt. Identical bytes for identical input and
// options (the thread count and block size fix the block layout).
Result<std::string> xz_compress(std::string_view data, const XzOptions& opts = {});

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
  std::vector<const Package*> packages;
};

struct PublishOptions {
  int gzip_level = 9;
  bool write_xz = true;  // Packages.xz (the slow part) can be left out
  XzOptions xz;
  std::optional<SigningKey> signing;  // InRelease and Release.gpg when set
};

// One file of a publication. By-hash copies share `content` with the file they copy.
struct PublishedFile {
  std::string path;  // relative to the publication root, e.g. "dists/stable/Release"
  std::shared_ptr<const std::string> content;
};

// Every file of one publication of suite `info.suite`, under dists/<suite>/ (pool files are
// not included):
//   <component>/binary-<arch>/Packages, Packages.gz, Packages.xz (when write_xz),
//   <component>/binary-<arch>/by-hash/{MD5Sum,SHA1,SHA256}/<hex> copies of those,
//   Release, and InRelease and Release.gpg when signing.
// <arch> ranges over info.architectures ("all" dropped) or, when that is empty, the sorted
// architectures of the packages other than "all"; a package of architecture "all" is listed in
// every <arch>'s Packages, and every component gets every <arch> (possibly empty). Components
// are listed in the order of `components`; info.components is ignored. Errors
// (kInvalidArgument) for an unusable suite, component or architecture name, duplicate
// components, or no architecture at all; signing errors as sign_release. Index files come
// first in the result, Release and its signatures last.
Result<std::vector<PublishedFile>> build_publication(const ReleaseInfo& info,
                                                     std::span<const ComponentPackages> components,
                                                     const PublishOptions& opts = {});

// Writes `files` under `root` (created as needed; an existing file is unlinked and replaced,
// never written through). A file sharing its content with one already written is a hard link
// to it (a copy where linking fails). With `sync`, every file written and every directory from
// them up to `root` is fsynced. Errors are kIo naming the path (kUnsafePath for a path that is
// not a plain relative one).
Status write_publication(std::span<const PublishedFile> files, const std::filesystem::path& root,
                         bool sync = true);

}  // namespace depot::pool
