#include "sources/opam/opam_index.h"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "core/rel_path.h"
#include "sources/decompress.h"
#include "sources/registry.h"

namespace depot::opam {
namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

// The package an entry sits in, for error messages: the "name.version"
// directory below packages/<name>/, else the name directory, else "" (outside
// packages/).
std::string package_of(std::string_view path) {
  auto parts = split_path(path);
  if (parts.size() < 2 || parts[0] != "packages") return "";
  return std::string(parts.size() >= 4 ? parts[2] : parts[1]);
}

std::string label(const std::string &where, std::string_view path) {
  std::string pkg = package_of(path);
  if (pkg.empty()) return where + ": entry " + quote_untrusted(path);
  return where + ": package " + quote_untrusted(pkg) + ": entry " + quote_untrusted(path);
}

// The entry's path with leading "./" and a trailing '/' removed; "" for the top
// directory.
std::string clean_path(std::string_view p) {
  while (p.starts_with("./")) p.remove_prefix(2);
  while (p.ends_with('/')) p.remove_suffix(1);
  if (p == ".") return "";
  return std::string(p);
}

class IndexReader {
 public:
  IndexReader(const std::string &where, const IndexLimits &limits)
      : where_(where), limits_(limits), a_(archive_read_new(), archive_read_free) {}

  Result<std::vector<PackageArchives>> run(ByteSource &in) {
    if (!a_) return make_error(ErrorCode::kInternal, where_ + ": archive_read_new failed");
    archive_read_support_filter_all(a_.get());
    archive_read_support_format_tar(a_.get());
    ArchiveFeed feed(in);
    if (feed.open(a_.get()) != ARCHIVE_OK) return feed.error_or(fail("cannot open"));
    uint64_t entries = 0;
    for (;;) {
      archive_entry *e = nullptr;
      int rc = archive_read_next_header(a_.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) return fail("corrupt or truncated tarball");
      if (++entries > limits_.max_entries) {
        return make_error(ErrorCode::kParse, where_ + ": more than " +
                                                 std::to_string(limits_.max_entries) + " entries");
      }
      DEPOT_TRY(entry(e));
    }
    std::vector<PackageArchives> out;
    for (auto &[dir, p] : packages_) out.push_back(std::move(p));
    return out;
  }

 private:
  Error fail(const char *what) {
    const char *msg = archive_error_string(a_.get());
    return make_error(ErrorCode::kParse,
                      where_ + ": " + what + (msg ? std::string(": ") + msg : std::string()));
  }

  Status entry(archive_entry *e) {
    const char *raw = archive_entry_pathname(e);
    if (raw == nullptr)
      return make_error(ErrorCode::kUnsafePath, where_ + ": entry without a name");
    const std::string path = clean_path(raw);
    const auto type = archive_entry_filetype(e);
    if (path.empty() && type == AE_IFDIR) return ok_status();
    auto rel = RelPath::parse(path);
    if (!rel.ok() || std::string_view(raw).starts_with('/')) {
      return make_error(ErrorCode::kUnsafePath, label(where_, raw) + ": unsafe path");
    }
    if (archive_entry_hardlink(e) != nullptr || (type != AE_IFREG && type != AE_IFDIR)) {
      return make_error(ErrorCode::kUnsafePath,
                        label(where_, path) + ": not a regular file or directory (links refused)");
    }
    std::string_view name = rel->filename();
    if (type != AE_IFREG || !path.starts_with("packages/") || (name != "opam" && name != "url")) {
      return archive_read_data_skip(a_.get()) == ARCHIVE_OK ? ok_status()
                                                            : fail("corrupt or truncated tarball");
    }
    DEPOT_ASSIGN_OR_RETURN(std::string text, read_data(e, path));
    const std::string dir = rel->parent();
    const std::string pkg(rel_filename(dir));
    const std::string at = where_ + ": package " + quote_untrusted(pkg) + " (" + path + ")";
    DEPOT_ASSIGN_OR_RETURN(File f, parse_file(text, at));
    DEPOT_ASSIGN_OR_RETURN(auto archives, archives_of(f, at));
    PackageArchives &p = packages_[dir];
    p.package = pkg;
    for (auto &a : archives) p.archives.push_back(std::move(a));
    return ok_status();
  }

  Result<std::string> read_data(archive_entry *e, const std::string &path) {
    if (archive_entry_size_is_set(e) &&
        archive_entry_size(e) > static_cast<la_int64_t>(limits_.max_file)) {
      return make_error(ErrorCode::kParse, label(where_, path) + ": larger than " +
                                               std::to_string(limits_.max_file) + " bytes");
    }
    std::string text;
    char buf[1 << 14];
    for (;;) {
      la_ssize_t n = archive_read_data(a_.get(), buf, sizeof buf);
      if (n < 0) return fail("corrupt or truncated tarball");
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      total_ += static_cast<uint64_t>(n);
      if (text.size() > limits_.max_file || total_ > limits_.max_total) {
        return make_error(ErrorCode::kParse, label(where_, path) + ": too large");
      }
    }
    return text;
  }

  const std::string &where_;
  const IndexLimits &limits_;
  ArchivePtr a_;
  std::map<std::string, PackageArchives> packages_;  // by directory, opam and url merged
  uint64_t total_ = 0;
};

}  // namespace

Result<std::vector<PackageArchives>> read_index(ByteSource &in, const std::string &where,
                                                const IndexLimits &limits) {
  return IndexReader(where, limits).run(in);
}

}  // namespace depot::opam
