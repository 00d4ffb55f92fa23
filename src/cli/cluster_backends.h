#pragma once
// The node URLs `depot cluster serve` accepts and the backends it makes of them:
// http(s)://host:port (a depot storage node or another gateway: NodeClient) and
// s3://bucket/prefix?endpoint=http(s)://host[:port][&region=R][&capacity=SIZE][&relist=SECONDS]
// (a bucket: S3Node, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS
// profile, as other s3:// destinations). Thread-safe.

#include <memory>
#include <string>

#include "cluster/gateway.h"
#include "cluster/s3_node.h"
#include "core/result.h"
#include "storage/s3/s3_client.h"

namespace depot {

struct S3NodeSpec {
  S3Config config;
  cluster::S3NodeOptions options;
};

// Parses an s3:// node URL and loads the credentials. Errors name the URL and what is wrong.
Result<S3NodeSpec> parse_s3_node_url(const std::string& url);

// Checks a node URL as the factory would take it: "" or why not.
std::string check_node_url(const std::string& url);

// GatewayOptions::backend_factory: S3Node for s3://, NodeClient for http(s)://, null otherwise.
std::unique_ptr<cluster::NodeBackend> make_node_backend(const cluster::NodeEndpoint& ep,
                                                        const cluster::NodeTimeouts& timeouts);

}  // namespace depot
