#pragma once
// conda repodata.json: the package records of one subdir ("packages" holds .tar.bz2,
// "packages.conda" holds .conda). Pure parsing, no I/O. Every record is validated: a plain file
// name (no directories, no reserved index names), a size, and a sha256 and/or md5.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/byte_source.h"
#include "core/result.h"

namespace depot::conda {

struct PackageRecord {
  std::string filename;
  uint64_t size = 0;
  Digests digests;  // sha256 and/or md5
};

struct Repodata {
  std::string subdir;    // info.subdir, when present
  std::string base_url;  // info.base_url (repodata v2): packages live there, when present
  std::vector<PackageRecord> packages;  // sorted by filename, unique
};

// Push-style parser: feed() the bytes as they arrive, then finish(). simdjson needs the whole
// document, so feed() buffers; `source` names the file in error messages.
class RepodataParser {
 public:
  explicit RepodataParser(std::string source) : source_(std::move(source)) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  Result<Repodata> finish();

 private:
  std::string source_;
  std::string buffer_;
};

// Parses a complete document. `source` names the file in error messages.
Result<Repodata> parse_repodata(std::string_view json, const std::string& source);
// Parses everything `in` holds.
Result<Repodata> parse_repodata(ByteSource& in, const std::string& source);

// Names a package may not take because the mirror writes index files under them.
bool is_reserved_index_name(std::string_view filename);

}  // namespace depot::conda
