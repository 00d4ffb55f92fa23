#pragma once
// Freshness classes of cached files, by path, for every registry depot knows. Pure; thread-safe.

#include <string_view>

namespace depot {

enum class FileClass {
  kBlob,   // content-addressed or versioned: never changes, never revalidated
           // (apt pool/**.{deb,udeb,ddeb,dsc,tar.*,diff.gz,buildinfo,changes}, any
           //  by-hash/<ALGO>/<hex>, *.rpm/*.drpm/*.srpm, yum repodata files whose name starts with
           //  a 32+ hex digest and '-', *.whl, PyPI packages/**, *.metadata, *.conda, conda
           //  *.tar.bz2 outside repodata, npm *.tgz, *.crate)
  kRoot,   // a signed root that names other index files: apt dists/**/InRelease, Release,
           // Release.gpg; yum repodata/repomd.xml, repomd.xml.asc, repomd.xml.key
  kIndex,  // everything else: revalidated after a TTL (Packages*, repodata.json*, PyPI simple
           // pages, npm package documents, ...)
};

FileClass classify_path(std::string_view rel);
const char* file_class_name(FileClass c);  // "blob", "root", "index"

}  // namespace depot
