#include "core/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace depot {

const char* digest_algo_name(DigestAlgo a) {
  switch (a) {
    case DigestAlgo::kMd5: return "md5";
    case DigestAlgo::kSha1: return "sha1";
    case DigestAlgo::kSha256: return "sha256";
    case DigestAlgo::kSha512: return "sha512";
  }
  return "?";
}

static size_t hex_len(DigestAlgo a) {
  switch (a) {
    case DigestAlgo::kMd5: return 32;
    case DigestAlgo::kSha1: return 40;
    case DigestAlgo::kSha256: return 64;
    case DigestAlgo::kSha512: return 128;
  }
  return 0;
}

std::string& Digests::get(DigestAlgo a) {
  switch (a) {
    case DigestAlgo::kMd5: return md5;
    case DigestAlgo::kSha1: return sha1;
    case DigestAlgo::kSha256: return sha256;
    case DigestAlgo::kSha512: return sha512;
  }
  return sha256;
}

const std::string& Digests::get(DigestAlgo a) const {
  return const_cast<Digests*>(this)->get(a);
}

std::string Digests::strongest() const {
  for (DigestAlgo a : {DigestAlgo::kSha512, DigestAlgo::kSha256, DigestAlgo::kSha1,
                       DigestAlgo::kMd5}) {
    if (!get(a).empty()) return std::string(digest_algo_name(a)) + ":" + get(a);
  }
  return "";
}

Status Digests::verify(const Digests& actual, std::string_view what) const {
  for (int i = 0; i < kDigestAlgoCount; ++i) {
    auto a = static_cast<DigestAlgo>(i);
    const std::string& want = get(a);
    const std::string& got = actual.get(a);
    if (want.empty() || got.empty()) continue;
    if (want != got) {
      return make_error(ErrorCode::kDigestMismatch,
                        std::string(what) + ": " + digest_algo_name(a) + " mismatch: expected " +
                            want + ", got " + got,
                        /*transient=*/true);
    }
  }
  return ok_status();
}

bool Digests::matches(const Digests& other) const {
  bool any = false;
  for (int i = 0; i < kDigestAlgoCount; ++i) {
    auto a = static_cast<DigestAlgo>(i);
    if (get(a).empty() || other.get(a).empty()) continue;
    if (get(a) != other.get(a)) return false;
    any = true;
  }
  return any;
}

Result<std::string> normalize_hex_digest(DigestAlgo a, std::string_view hex) {
  if (hex.size() != hex_len(a)) {
    return make_error(ErrorCode::kParse, std::string("bad ") + digest_algo_name(a) +
                                             " digest length " + std::to_string(hex.size()));
  }
  std::string out(hex);
  bool bad = false;
  for (char& c : out) {
    char lc = static_cast<char>(c | 0x20);  // ASCII lower case; digits unaffected
    bad |= !((c >= '0' && c <= '9') || (lc >= 'a' && lc <= 'f'));
    c = (c >= '0' && c <= '9') ? c : lc;
  }
  if (bad) {
    return make_error(ErrorCode::kParse, std::string("bad ") + digest_algo_name(a) +
                                             " digest: not hex");
  }
  return out;
}

std::string to_hex(std::span<const unsigned char> bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

struct Hasher::Impl {
  unsigned algos = 0;
  EVP_MD_CTX* ctx[kDigestAlgoCount] = {};

  static const EVP_MD* md(int i) {
    switch (static_cast<DigestAlgo>(i)) {
      case DigestAlgo::kMd5: return EVP_md5();
      case DigestAlgo::kSha1: return EVP_sha1();
      case DigestAlgo::kSha256: return EVP_sha256();
      case DigestAlgo::kSha512: return EVP_sha512();
    }
    return nullptr;
  }
  void init() {
    for (int i = 0; i < kDigestAlgoCount; ++i) {
      if (!(algos & (1u << i))) continue;
      if (!ctx[i]) ctx[i] = EVP_MD_CTX_new();
      EVP_DigestInit_ex(ctx[i], md(i), nullptr);
    }
  }
  ~Impl() {
    for (auto* c : ctx) EVP_MD_CTX_free(c);
  }
};

Hasher::Hasher(unsigned algos) : impl_(std::make_unique<Impl>()) {
  impl_->algos = algos;
  impl_->init();
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const std::byte> data) {
  for (int i = 0; i < kDigestAlgoCount; ++i) {
    if (impl_->ctx[i] && (impl_->algos & (1u << i))) {
      EVP_DigestUpdate(impl_->ctx[i], data.data(), data.size());
    }
  }
}

void Hasher::update(std::string_view data) {
  update(std::as_bytes(std::span(data.data(), data.size())));
}

Digests Hasher::finish() {
  Digests out;
  for (int i = 0; i < kDigestAlgoCount; ++i) {
    if (!(impl_->algos & (1u << i))) continue;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(impl_->ctx[i], buf, &len);
    out.get(static_cast<DigestAlgo>(i)) = to_hex({buf, len});
  }
  impl_->init();
  return out;
}

void Hasher::reset() { impl_->init(); }

unsigned Hasher::mask_for(const Digests& expected) {
  unsigned m = digest_bit(DigestAlgo::kSha256);
  if (!expected.sha512.empty()) m |= digest_bit(DigestAlgo::kSha512);
  // A weaker digest adds nothing once a SHA-2 digest is verified, and costs up to 3x the CPU.
  if (expected.sha256.empty() && expected.sha512.empty()) {
    if (!expected.sha1.empty()) m |= digest_bit(DigestAlgo::kSha1);
    if (!expected.md5.empty()) m |= digest_bit(DigestAlgo::kMd5);
  }
  return m;
}

Result<Digests> hash_file(const std::string& path, unsigned algos) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  Hasher h(algos);
  std::string buf(1 << 17, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return make_error(ErrorCode::kIo, path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return h.finish();
}

std::string sha256_hex(std::span<const std::byte> data) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(data);
  return h.finish().sha256;
}

std::string sha256_hex(std::string_view data) { return sha256_hex(std::as_bytes(std::span(data))); }

}  // namespace depot
