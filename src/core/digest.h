#pragma once
// Digests computed while bytes stream (OpenSSL EVP), and the set of digests an upstream
// declares for a file. Hex strings are lower case; an empty string means "not known".

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

enum class DigestAlgo { kMd5 = 0, kSha1 = 1, kSha256 = 2, kSha512 = 3 };
inline constexpr int kDigestAlgoCount = 4;
const char* digest_algo_name(DigestAlgo a);

struct Digests {
  std::string md5, sha1, sha256, sha512;

  std::string& get(DigestAlgo a);
  const std::string& get(DigestAlgo a) const;
  bool empty() const { return md5.empty() && sha1.empty() && sha256.empty() && sha512.empty(); }
  // The strongest digest known, as "sha256:abcd..."; "" when none.
  std::string strongest() const;
  // Checks every digest known in both `*this` (expected) and `actual`. The error names `what`.
  Status verify(const Digests& actual, std::string_view what) const;
  // True when some digest is known in both and all of those shared agree.
  bool matches(const Digests& other) const;
  friend bool operator==(const Digests&, const Digests&) = default;
};

// Lower-cases and validates a hex digest of algorithm `a` (length and alphabet).
Result<std::string> normalize_hex_digest(DigestAlgo a, std::string_view hex);

// Incremental hasher over any subset of algorithms. Not thread-safe.
class Hasher {
 public:
  // `algos` is a bitmask of (1 << DigestAlgo).
  explicit Hasher(unsigned algos);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // Finishes and returns the digests; the hasher is reset for reuse.
  Digests finish();
  void reset();

  // Mask selecting sha256 always, sha512 when expected, and md5/sha1 only when `expected`
  // has no SHA-2 digest (verifying the weaker one then adds nothing).
  static unsigned mask_for(const Digests& expected);
  // Mask of md5, sha1, sha256 and sha512 together (what apt's indexes list).
  static constexpr unsigned kAllAlgorithms = (1u << kDigestAlgoCount) - 1;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

constexpr unsigned digest_bit(DigestAlgo a) { return 1u << static_cast<int>(a); }

// Hashes a whole file (used only when adopting files of unknown provenance).
Result<Digests> hash_file(const std::string& path, unsigned algos);

// The lower-case hex sha256 of `data`, in one call.
std::string sha256_hex(std::span<const std::byte> data);
std::string sha256_hex(std::string_view data);

std::string to_hex(std::span<const unsigned char> bytes);

}  // namespace depot
