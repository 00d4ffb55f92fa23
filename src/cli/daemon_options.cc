#include "cli/daemon_options.h"

namespace depot {

pool::DaemonOptions daemon_options(const site::PublishConfig& p) {
  pool::DaemonOptions o;
  o.root = p.root;
  o.workers = static_cast<unsigned>(p.workers);
  o.pdiff_generations = static_cast<unsigned>(p.pdiff_generations);
  o.publish.public_dir = p.public_dir;
  o.publish.grace = p.grace;
  o.publish.architectures = p.architectures;
  o.publish.index.write_xz = !p.no_xz;
  o.publish.index.xz_preset = static_cast<unsigned>(p.xz_preset);
  o.publish.index.gzip_level = p.gzip_level;
  if (!p.signing_key.empty())
    o.publish.index.signing = pool::SigningKey{p.gnupg_home, p.signing_key};
  return o;
}

}  // namespace depot
