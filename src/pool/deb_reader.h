#pragma once
// Import-side reading of a Debian binary package (.deb): its control paragraph, size and
// digests; and dpkg's version syntax and ordering. Thread-safe (no shared state).

#include <filesystem>
#include <string_view>

#include "core/result.h"
#include "pool/package.h"

namespace depot::pool {

// Reads a .deb: an ar archive of "debian-binary" ("2.x\n"), control.tar[.gz|.xz|.zst|.bz2]
// and data.tar[.gz|.xz|.zst|.bz2|.lzma], in that order (members named "_..." are skipped, as
// dpkg does). The control member's ./control is parsed as one deb822 paragraph into
// Package::fields in its original order. Package, Version and Architecture are required and
// validated; Filename, Size and checksum fields are refused. The size and every digest of the
// whole file are computed in the same single read. Errors name the file: kNotFound/kIo when it
// cannot be read, kParse for anything malformed or truncated. The data member is not unpacked.
Result<Package> read_deb(const std::filesystem::path& file);

// dpkg's version ordering: epoch numerically, then upstream version and revision by dpkg's
// algorithm ('~' sorts before everything, even the end). <0, 0 or >0. A missing revision equals
// "0". Defined for any strings; meaningful for valid versions.
int compare_versions(std::string_view a, std::string_view b);

// Valid Debian version syntax: [epoch:]upstream[-revision]; epoch decimal digits (fits an int),
// upstream starting with a digit and made of [A-Za-z0-9.+~-] ('-' only with a revision; no ':'
// as current Policy says), revision non-empty and made of [A-Za-z0-9.+~].
bool valid_version(std::string_view v);

// Valid Debian package name: [a-z0-9][a-z0-9+.-]+ (at least two characters).
bool valid_package_name(std::string_view name);

}  // namespace depot::pool
