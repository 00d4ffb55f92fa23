#pragma once
// The Packages file of one component and architecture, with its .gz and .xz, built in chunks:
//
// - The paragraphs (in package_order_less order) are cut into chunks before a package whose
//   name hashes to a boundary (1 in kBoundaryEvery names; all versions and architectures of a
//   name stay together) or when a chunk reaches kMaxChunkBytes. A change to one package
//   therefore changes one chunk, and the other chunks keep their bytes.
// - Each chunk is compressed on its own (gzip: raw deflate ended by a sync flush; xz: one
//   block), on the work pool, and the results are cached by the digest of the chunk's text.
// - The chunks are assembled into one standard gzip member and one xz stream
//   (pool/chunked_compress.h): files every gzip/xz reader and apt read.
// Same packages and options, same bytes, whatever the cache held.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/result.h"
#include "core/work_pool.h"
#include "pool/chunk_cache.h"
#include "pool/package.h"

namespace depot::pool {

// The digests Release lists an index file with (md5, sha1, sha256).
inline constexpr unsigned kReleaseDigests = digest_bit(DigestAlgo::kMd5) |
                                            digest_bit(DigestAlgo::kSha1) |
                                            digest_bit(DigestAlgo::kSha256);

inline constexpr uint64_t kBoundaryEvery = 1024;
inline constexpr size_t kMaxChunkBytes = 4u << 20;

struct PackagesOptions {
  int gzip_level = 9;        // 1..9
  bool write_xz = true;
  uint32_t xz_preset = 6;    // 0..9
  const ChunkCache* cache = nullptr;  // none: every chunk is compressed
  WorkPool* pool = nullptr;           // none: the calling thread does everything
};

struct PackagesFile {
  std::string text;  // Packages
  Digests text_digests;  // md5, sha1 and sha256 of `text`
  std::string gz;    // Packages.gz
  std::string xz;    // Packages.xz; empty without write_xz
  uint64_t chunks = 0;
  uint64_t compressed = 0;  // chunk compressions run (gzip and xz counted apart)
  uint64_t reused = 0;      // chunk compressions found in the cache
};

// The path of a package's file relative to the publication root:
// "pool/<component>/<prefix>/<dir>/<filename>", where <dir> is `source` (the Source field
// without its "(version)" suffix) or, when empty, `name`; <prefix> is <dir>'s first four
// characters when <dir> starts with "lib" and is longer than three, else its first character.
std::string pool_path(std::string_view name, std::string_view source, std::string_view filename,
                      std::string_view component);
// pool_path for a stored package: its Source field read from the paragraph, its file named by
// pool_file_name.
std::string pool_path(const PackageText& p, std::string_view component);
// "<name>_<version without epoch>_<architecture>.deb" (".udeb" for a file imported as one), as
// Debian names pool files: the name a package was uploaded under does not matter, so two
// uploads named "app.deb" never share a pool path.
std::string pool_file_name(const PackageText& p);

// Name, then version (dpkg ordering), then architecture, then file name. A strict weak order.
bool package_order_less(const PackageText& a, const PackageText& b);

// The Packages text: one paragraph per package in package_order_less order (`pkgs` is not
// reordered), each "Package" first, then the stored fields in order (a stored Package,
// Filename, Size or checksum field is skipped), then Filename (pool_path), Size, MD5sum, SHA1
// and SHA256; paragraphs separated by one empty line. A paragraph that is not valid stored text
// is kParse naming the package.
Result<std::string> render_packages(std::span<const PackageText* const> pkgs,
                                    std::string_view component);
// A rendered Packages text and its chunks (offset, size), in order and covering it.
struct RenderedPackages {
  std::string text;
  std::vector<std::pair<size_t, size_t>> chunks;
};
Result<RenderedPackages> render_packages_chunked(std::span<const PackageText* const> pkgs,
                                                 std::string_view component);
// The .gz and .xz of a rendered text (its chunks compressed on opts.pool, through opts.cache)
// and the text's digests; the text moves into the result.
Result<PackagesFile> compress_packages(RenderedPackages rendered, const PackagesOptions& opts);
// render_packages_chunked, then compress_packages.
Result<PackagesFile> build_packages_file(std::span<const PackageText* const> pkgs,
                                         std::string_view component,
                                         const PackagesOptions& opts = {});

}  // namespace depot::pool
