#pragma once
// The npm source: the chosen packages (list "package"; with "with-deps" = "yes" the closure over
// dependencies, optionalDependencies and peerDependencies of every mirrored version) from an
// npm registry (the upstream URL, e.g. https://registry.npmjs.org). For package NAME
// ("@scope/name" for a scoped one) it mirrors:
//   NAME/-/FILE.tgz          every listed version's tarball, verified by dist.integrity
//                            (sha512) or dist.shasum (sha1)                        (kBlob)
//   NAME/index.json          the packument, dist.tarball rewritten to
//                            <base-url>/NAME/-/FILE.tgz                           (kIndex)
//   NAME/index.abbrev.json   its abbreviated form (application/vnd.npm.install-v1+json)
//   .upstream/NAME.json      upstream's packument byte for byte, kept for conditional requests
// Value "versions" = "latest-N" keeps the N highest versions plus those dist-tags name, and
// drops the rest from the stored packuments.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::npm {

Result<std::unique_ptr<Source>> make_npm_source(const SourceOptions& opts);

}  // namespace depot::npm
