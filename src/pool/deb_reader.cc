#include "pool/deb_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "core/unique_fd.h"
#include "pool/paragraph.h"
#include "sources/apt/deb822.h"

namespace depot::pool {
namespace {

constexpr size_t kMaxControlFile = 1u << 20;          // ./control
constexpr uint64_t kMaxControlMember = 64u << 20;     // control.tar.* as stored
constexpr uint64_t kMaxControlTarBytes = 256u << 20;  // control.tar.* unpacked, all entries
constexpr uint64_t kMaxDebianBinary = 1024;
constexpr size_t kMaxFileName = 255;  // bytes of one path component on Linux file systems

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_lower_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }

struct Compression {
  std::string_view suffix;
  int filter;  // ARCHIVE_FILTER_*
  const char* name;
};

constexpr std::array<Compression, 5> kControlCompressions{{
    {"", ARCHIVE_FILTER_NONE, "uncompressed"},
    {".gz", ARCHIVE_FILTER_GZIP, "gzip"},
    {".xz", ARCHIVE_FILTER_XZ, "xz"},
    {".zst", ARCHIVE_FILTER_ZSTD, "zstd"},
    {".bz2", ARCHIVE_FILTER_BZIP2, "bzip2"},
}};
constexpr std::array<std::string_view, 6> kDataSuffixes{"", ".gz", ".xz", ".zst", ".bz2", ".lzma"};

// Feeds libarchive from a descriptor and hashes every byte on the way, so the file is read
// once. Without a skip callback libarchive reads (never seeks) past what it skips.
struct HashingReader {
  int fd = -1;
  Hasher hasher{Hasher::kAllAlgorithms};
  uint64_t size = 0;
  int error = 0;  // errno of a failed read
  std::vector<char> buf = std::vector<char>(1 << 16);

  // Bytes read, 0 at the end, -1 with errno set.
  ssize_t next() {
    ssize_t n;
    do {
      n = ::read(fd, buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      hasher.update(std::string_view(buf.data(), static_cast<size_t>(n)));
      size += static_cast<uint64_t>(n);
    }
    return n;
  }
};

la_ssize_t read_callback(archive* a, void* user, const void** out) {
  auto* r = static_cast<HashingReader*>(user);
  ssize_t n = r->next();
  if (n < 0) {
    r->error = errno;
    archive_set_error(a, r->error, "read: %s", std::strerror(r->error));
    return -1;
  }
  *out = r->buf.data();
  return n;
}

// `value` without its comment lines: a "#" line between a field and its continuation lines
// belongs to no field (deb822(5)), and the stored paragraph text (paragraph.h) cannot hold it.
std::string without_comment_lines(std::string_view value) {
  if (value.find("\n#") == std::string_view::npos) return std::string(value);
  std::string out;
  for (size_t pos = 0; pos <= value.size();) {
    size_t nl = std::min(value.find('\n', pos), value.size());
    std::string_view line = value.substr(pos, nl - pos);
    if (pos == 0 || !line.starts_with('#')) {
      if (pos != 0) out += '\n';
      out += line;
    }
    pos = nl + 1;
  }
  return out;
}

// "name" or "name (version)", as dpkg writes the Source field of a binary package.
bool valid_source_field(std::string_view value) {
  std::string_view name = trim(value.substr(0, value.find('(')));
  if (!valid_package_name(name) || name.size() > kMaxFileName) return false;
  size_t open = value.find('(');
  if (open == std::string_view::npos) return true;
  std::string_view rest = trim(value.substr(open + 1));
  return rest.ends_with(')') && valid_version(trim(rest.substr(0, rest.size() - 1)));
}

class DebReader {
 public:
  explicit DebReader(const std::filesystem::path& file) : file_(file), name_(file.string()) {}

  Result<Package> read();

 private:
  Error parse_error(const std::string& what) const {
    return make_error(ErrorCode::kParse, name_ + ": " + what);
  }
  Error archive_error(archive* a, const std::string& what) const {
    if (reader_.error) {
      return make_error(ErrorCode::kIo, name_ + ": " + std::strerror(reader_.error));
    }
    const char* msg = archive_error_string(a);
    return parse_error(what + (msg ? std::string(": ") + msg : std::string()));
  }

  // The current member's bytes (at most `max`, else an error naming `member`).
  Result<std::string> read_data(archive* a, uint64_t max, const std::string& member);
  Status check_debian_binary(archive* a);
  Status read_control_member(archive* a, const std::string& member, const Compression& compression);
  Status parse_control(std::string_view text, const std::string& where);

  std::filesystem::path file_;
  std::string name_;
  HashingReader reader_;
  Package pkg_;
};

Result<std::string> DebReader::read_data(archive* a, uint64_t max, const std::string& member) {
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n == 0) return out;
    if (n < 0) return archive_error(a, "truncated or corrupt " + member);
    if (out.size() + static_cast<uint64_t>(n) > max) {
      return parse_error(member + " is larger than " + std::to_string(max) + " bytes");
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
}

Status DebReader::check_debian_binary(archive* a) {
  DEPOT_ASSIGN_OR_RETURN(std::string text, read_data(a, kMaxDebianBinary, "member debian-binary"));
  // "2.0\n" today; dpkg accepts any 2.x (later minor versions stay compatible).
  size_t i = 2;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (text.compare(0, 2, "2.") != 0 || i == 2 || i >= text.size() || text[i] != '\n') {
    std::string shown = text.substr(0, text.find('\n')).substr(0, 20);
    return parse_error("unsupported package format version '" + shown +
                       "' in debian-binary (expected 2.x)");
  }
  return ok_status();
}

Status DebReader::read_control_member(archive* outer, const std::string& member,
                                      const Compression& compression) {
  DEPOT_ASSIGN_OR_RETURN(std::string packed, read_data(outer, kMaxControlMember, member));
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return make_error(ErrorCode::kInternal, name_ + ": archive_read_new failed");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), packed.data(), packed.size()) != ARCHIVE_OK) {
    return archive_error(a.get(), member + " is not a valid tar archive");
  }
  std::optional<std::string> control;
  uint64_t unpacked = 0;
  bool first = true;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return archive_error(a.get(), member + " is not a valid tar archive");
    if (first) {
      first = false;
      if (archive_filter_code(a.get(), 0) != compression.filter) {
        return parse_error(member + " is not " + compression.name + " as its name says (" +
                           archive_filter_name(a.get(), 0) + ")");
      }
    }
    const char* raw = archive_entry_pathname(entry);
    std::string_view path = raw ? raw : "";
    while (path.starts_with("./")) path.remove_prefix(2);
    const bool is_control = path == "control";
    if (is_control) {
      if (control) return parse_error(member + " holds more than one control file");
      if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)) {
        return parse_error("control file in " + member + " is not a regular file");
      }
      if (archive_entry_size_is_set(entry) &&
          static_cast<uint64_t>(archive_entry_size(entry)) > kMaxControlFile) {
        return parse_error("control file is larger than 1 MiB (" +
                           std::to_string(archive_entry_size(entry)) + " bytes)");
      }
      DEPOT_ASSIGN_OR_RETURN(std::string text,
                             read_data(a.get(), kMaxControlFile, "control file in " + member));
      unpacked += text.size();
      control = std::move(text);
      continue;
    }
    // Read (not skip) the other entries: bounds the work on a decompression bomb and finds
    // truncation anywhere in the member.
    std::vector<char> buf(1 << 16);
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) return archive_error(a.get(), "truncated or corrupt " + member);
      unpacked += static_cast<uint64_t>(n);
      if (unpacked > kMaxControlTarBytes) {
        return parse_error(member + " unpacks to more than " + std::to_string(kMaxControlTarBytes) +
                           " bytes");
      }
    }
  }
  if (first) return parse_error(member + " is empty: control file missing");
  if (!control) return parse_error("control file missing from " + member);
  return parse_control(*control, "control file in " + member);
}

Status DebReader::parse_control(std::string_view text, const std::string& where) {
  int paragraphs = 0;
  apt::Deb822Parser parser(
      name_ + ": " + where,
      [&](const apt::Stanza& stanza) -> Status {
        if (++paragraphs > 1) {
          return parse_error(where + " has more than one paragraph (line " +
                             std::to_string(stanza.line()) + ")");
        }
        for (const apt::Field& f : stanza.fields()) {
          if (index_only_field(f.name)) {
            return parse_error(where + " has a " + std::string(f.name) +
                               " field, which belongs in a repository index, not a package");
          }
          if (find_field(pkg_.fields, f.name) != nullptr) {
            return parse_error(where + " has field " + std::string(f.name) + " twice");
          }
          pkg_.fields.emplace_back(std::string(f.name), without_comment_lines(f.value));
        }
        return ok_status();
      },
      kMaxControlFile + 1);
  DEPOT_TRY(parser.feed(text));
  DEPOT_TRY(parser.finish());
  if (paragraphs == 0) return parse_error(where + " is empty");

  auto field = [&](std::string_view name) { return find_field(pkg_.fields, name); };
  auto required = [&](std::string_view name, std::string& out) -> Status {
    const std::string* v = field(name);
    if (!v || v->empty()) {
      return parse_error(where + " lacks the required field " + std::string(name));
    }
    out = *v;
    return ok_status();
  };
  DEPOT_TRY(required("Package", pkg_.name));
  DEPOT_TRY(required("Version", pkg_.version));
  DEPOT_TRY(required("Architecture", pkg_.architecture));
  if (!valid_package_name(pkg_.name)) {
    return parse_error(where + ": invalid package name '" + pkg_.name + "'");
  }
  if (!valid_version(pkg_.version)) {
    return parse_error(where + ": invalid version '" + pkg_.version + "'");
  }
  bool arch_ok = is_lower_alnum(pkg_.architecture[0]);
  for (char c : pkg_.architecture) arch_ok = arch_ok && (is_lower_alnum(c) || c == '-');
  if (!arch_ok) {
    return parse_error(where + ": invalid architecture '" + pkg_.architecture + "'");
  }
  // The pool file is named "<name>_<version>_<arch>.deb" (packages_file.h).
  if (pkg_.name.size() + pkg_.version.size() + pkg_.architecture.size() + 7 > kMaxFileName) {
    return parse_error(where + ": name, version and architecture too long for a file name (over " +
                       std::to_string(kMaxFileName) + " bytes)");
  }
  // The Source name becomes a directory of the package's pool path (packages_file.h).
  if (const std::string* source = field("Source"); source && !valid_source_field(*source)) {
    return parse_error(where + ": invalid Source " + quote_untrusted(*source));
  }
  return ok_status();
}

Result<Package> DebReader::read() {
  UniqueFd fd(::open(file_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    return make_error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      name_ + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error(ErrorCode::kIo, name_ + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kIo, name_ + ": not a regular file");
  if (st.st_size == 0) return parse_error("empty file, not a Debian package");

  HashingReader& reader = reader_;
  reader.fd = fd.get();
  ArchivePtr a(archive_read_new(), archive_read_free);
  if (!a) return make_error(ErrorCode::kInternal, name_ + ": archive_read_new failed");
  archive_read_support_format_ar(a.get());
  if (archive_read_open(a.get(), &reader, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    if (reader.size > 0) return archive_error(a.get(), "not an ar archive (not a Debian package)");
    return archive_error(a.get(), "cannot read");
  }

  enum class Stage { kDebianBinary, kControl, kData, kDone } stage = Stage::kDebianBinary;
  std::string last;  // the previous member, for errors
  // Where the members say the archive ends: libarchive takes a partial member header at the
  // end for the end of the archive, and tolerates a missing final padding byte.
  uint64_t end = 8;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (stage == Stage::kDebianBinary) {
        return archive_error(a.get(), "not an ar archive (not a Debian package)");
      }
      return archive_error(a.get(), "truncated or corrupt ar archive in or after member " + last);
    }
    const char* raw = archive_entry_pathname(entry);
    const std::string member = raw ? raw : "";
    last = member;
    const auto member_size = static_cast<uint64_t>(archive_entry_size(entry));
    end += 60 + member_size + member_size % 2;
    if (stage == Stage::kDebianBinary) {
      if (member != "debian-binary") {
        return parse_error("first member is '" + member +
                           "', not debian-binary (not a Debian package)");
      }
      DEPOT_TRY(check_debian_binary(a.get()));
      stage = Stage::kControl;
      continue;
    }
    if (member.starts_with("_")) continue;  // reserved for non-critical additions; dpkg skips
    const bool is_control = member.starts_with("control.tar");
    const bool is_data = member.starts_with("data.tar");
    if (stage == Stage::kControl && is_control) {
      const Compression* compression = nullptr;
      for (const Compression& c : kControlCompressions) {
        if (member.substr(11) == c.suffix) compression = &c;
      }
      if (!compression) {
        return parse_error("unsupported compression of member " + member);
      }
      DEPOT_TRY(read_control_member(a.get(), member, *compression));
      stage = Stage::kData;
    } else if (stage == Stage::kData && is_data) {
      bool known = false;
      for (std::string_view s : kDataSuffixes) known = known || member.substr(8) == s;
      if (!known) return parse_error("unsupported compression of member " + member);
      stage = Stage::kDone;  // its bytes are read (and hashed) by the next header call
    } else if (stage == Stage::kControl && is_data) {
      return parse_error("member " + member + " comes before control.tar (misordered members)");
    } else if (is_control) {
      return parse_error("misordered or repeated member " + member);
    } else if (is_data) {
      return parse_error("more than one data member (" + member + ")");
    } else {
      return parse_error("unexpected member '" + member + "'");
    }
  }
  for (;;) {  // whatever libarchive did not need still counts for size and digests
    ssize_t n = reader.next();
    if (n == 0) break;
    if (n < 0) return make_error(ErrorCode::kIo, name_ + ": " + std::strerror(errno));
  }
  if (reader.size != static_cast<uint64_t>(st.st_size)) {
    return make_error(ErrorCode::kIo, name_ + ": changed size while being read", true);
  }
  if (reader.size > end) {
    return parse_error("truncated member header after " +
                       (last.empty() ? std::string("the ar magic") : "member " + last) + " (" +
                       std::to_string(reader.size - end) + " stray bytes at the end)");
  }
  if (reader.size < end) {
    return parse_error("truncated member " + last + " (" + std::to_string(end - reader.size) +
                       " bytes missing)");
  }
  if (stage == Stage::kDebianBinary) {
    return parse_error("ar archive without members (not a Debian package)");
  }
  if (stage == Stage::kControl) return parse_error("no control.tar member");
  if (stage == Stage::kData) return parse_error("no data.tar member");
  pkg_.format = "deb";
  pkg_.file.filename = file_.filename().string();
  pkg_.file.size = reader.size;
  pkg_.file.digests = reader.hasher.finish();
  return std::move(pkg_);
}

// dpkg's ordering weight of one character of a non-digit run; '\0' stands for the end.
int order(char c) {
  if (is_digit(c)) return 0;
  if (is_alpha(c)) return static_cast<unsigned char>(c);
  if (c == '~') return -1;
  if (c) return static_cast<unsigned char>(c) + 256;
  return 0;
}

// Alternating non-digit runs (compared by `order`) and digit runs (compared numerically).
int compare_part(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int oa = order(at(a, i)), ob = order(at(b, j));
      if (oa != ob) return oa - ob;
      ++i;  // equal weights here are the same real character on both sides
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    int first_diff = 0;
    while (i < a.size() && j < b.size() && is_digit(a[i]) && is_digit(b[j])) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (is_digit(at(a, i))) return 1;
    if (is_digit(at(b, j))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct VersionParts {
  std::string_view epoch, upstream, revision;
  bool has_epoch = false, has_revision = false;
};

VersionParts split_version(std::string_view v) {
  VersionParts p;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    p.has_epoch = true;
    v.remove_prefix(colon + 1);
  }
  size_t hyphen = v.rfind('-');
  if (hyphen != std::string_view::npos) {
    p.revision = v.substr(hyphen + 1);
    p.has_revision = true;
    v = v.substr(0, hyphen);
  }
  p.upstream = v;
  return p;
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

int compare_epochs(std::string_view a, std::string_view b) {
  if (!all_digits(a) || !all_digits(b)) return compare_part(a, b);
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

}  // namespace

Result<Package> read_deb(const std::filesystem::path& file) { return DebReader(file).read(); }

int compare_versions(std::string_view a, std::string_view b) {
  VersionParts pa = split_version(a), pb = split_version(b);
  if (int c = compare_epochs(pa.epoch, pb.epoch)) return c;
  if (int c = compare_part(pa.upstream, pb.upstream)) return c;
  return compare_part(pa.revision, pb.revision);
}

bool valid_version(std::string_view v) {
  VersionParts p = split_version(v);
  if (p.has_epoch) {
    if (p.epoch.empty() || p.epoch.size() > 10 || !all_digits(p.epoch)) return false;
    if (std::stoll(std::string(p.epoch)) > INT_MAX) return false;
  }
  if (p.upstream.empty() || !is_digit(p.upstream.front())) return false;
  for (char c : p.upstream) {
    if (!(is_digit(c) || is_alpha(c) || c == '.' || c == '+' || c == '~' || c == '-')) {
      return false;
    }
  }
  if (p.has_revision) {
    if (p.revision.empty()) return false;
    for (char c : p.revision) {
      if (!(is_digit(c) || is_alpha(c) || c == '.' || c == '+' || c == '~')) return false;
    }
  }
  return true;
}

bool valid_package_name(std::string_view name) {
  if (name.size() < 2 || !is_lower_alnum(name.front())) return false;
  for (char c : name) {
    if (!(is_lower_alnum(c) || c == '+' || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace depot::pool
