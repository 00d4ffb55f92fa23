#include "cli/cluster_backends.h"

#include "cli/target_options.h"
#include "cluster/node_client.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "core/units.h"
#include "storage/s3/s3_url.h"
#include "transfer/http_util.h"

namespace depot {

namespace {

Error bad_url(const std::string& url, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, "node URL " + quote_untrusted(url) + ": " + why);
}

// Applies one query parameter of an s3:// node URL.
Status apply_param(const std::string& url, const std::string& name, const std::string& value,
                   TargetArgs& args, cluster::S3NodeOptions& o) {
  if (name == "endpoint") {
    args.s3_endpoint = value;
  } else if (name == "region") {
    args.s3_region = value;
  } else if (name == "capacity") {
    auto bytes = parse_bytes(value);
    if (!bytes) return bad_url(url, "capacity: not a size: " + quote_untrusted(value));
    o.capacity = *bytes;
  } else if (name == "relist") {
    auto secs = parse_u64(value);
    if (!secs || *secs == 0) return bad_url(url, "relist: not a number of seconds above 0");
    o.relist_interval = std::chrono::seconds(*secs);
  } else {
    return bad_url(url, "unknown parameter " + quote_untrusted(name) +
                            " (endpoint, region, capacity, relist)");
  }
  return {};
}

}  // namespace

Result<S3NodeSpec> parse_s3_node_url(const std::string& url) {
  const size_t q = url.find('?');
  std::string location = url.substr(0, q);
  while (location.ends_with('/')) location.pop_back();
  TargetArgs args;
  S3NodeSpec spec;
  std::string_view rest = q == std::string::npos ? "" : std::string_view(url).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view param = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) return bad_url(url, "expected NAME=VALUE parameters");
    auto value = s3_url_decode(param.substr(eq + 1));
    if (!value.ok()) return bad_url(url, value.error().message);
    DEPOT_TRY(apply_param(url, std::string(param.substr(0, eq)), *value, args, spec.options));
  }
  if (args.s3_endpoint.empty()) return bad_url(url, "needs ?endpoint=http(s)://HOST[:PORT]");
  auto config = s3_config(location, args);
  if (!config.ok()) return bad_url(url, config.error().message);
  spec.config = std::move(config).value();
  return spec;
}

std::string check_node_url(const std::string& url) {
  if (is_http_url(url)) return "";
  if (!url.starts_with("s3://")) return "the URL must start with http://, https:// or s3://";
  auto spec = parse_s3_node_url(url);
  return spec.ok() ? "" : spec.error().message;
}

std::unique_ptr<cluster::NodeBackend> make_node_backend(const cluster::NodeEndpoint& ep,
                                                        const cluster::NodeTimeouts& timeouts) {
  if (is_http_url(ep.url)) return std::make_unique<cluster::NodeClient>(ep, timeouts);
  if (!ep.url.starts_with("s3://")) return nullptr;
  auto spec = parse_s3_node_url(ep.url);
  if (!spec.ok()) return nullptr;
  return std::make_unique<cluster::S3Node>(ep, std::move(spec->config), spec->options, timeouts);
}

}  // namespace depot
