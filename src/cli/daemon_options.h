#pragma once
// The publish daemon's options from its settings, one mapping for `depot daemon`'s flags and
// depot.toml's [publish] table. Pure.

#include "pool/daemon.h"
#include "site/site_config.h"

namespace depot {

pool::DaemonOptions daemon_options(const site::PublishConfig& p);

}  // namespace depot
