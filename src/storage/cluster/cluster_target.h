#pragma once
// The cluster Target: a mirror kept in a depot cluster, written through one gateway
// (`depot cluster serve`) under cluster+http://host:port/prefix.
//
// Consistency: a transaction's bytes are spooled to an anonymous local file while hashed
// (sha256); commit() PUTs each closed transaction declaring that sha256 (the gateway refuses
// other bytes) and succeeds only when the gateway answers 201, i.e. every copy the cluster
// wants is stored. A 202 (fewer copies) fails the commit, transient, naming the file and the
// copies stored: the engine, which commits blobs first and the root last, then never makes a
// root visible that names a file short of copies. A run killed at any moment leaves only
// spool files behind (anonymous: gone with the process; clear_debris() empties the spool
// directory anyway). open_read() fetches the file into an anonymous local file, checked
// against the sha256 the gateway announces.
//
// Errors: a failure of the gateway is kIo (see gateway_client.h); a missing file kNotFound.
//
// Thread-safety: stronger than Target's: calls may overlap; each WriteTxn is used by one thread
// at a time.

#include <cstddef>
#include <filesystem>
#include <memory>

#include "storage/cluster/gateway_client.h"
#include "storage/target.h"

namespace depot {

struct ClusterTargetOptions {
  GatewayEndpoint gateway;
  // A private local directory for spooled transactions and reads (emptied by clear_debris()).
  std::filesystem::path spool_dir;
  // PUTs in flight at once while a batch commits.
  size_t parallel = 8;
};

// Creates the spool directory; asks nothing of the gateway (see GatewayClient::check).
Result<std::unique_ptr<Target>> open_cluster_target(ClusterTargetOptions options);

}  // namespace depot
