#pragma once
// A real storage node (NodeStore, NodeApi, HttpServer) in the test process, on a loopback port,
// with one token of role full. Stopped and started again on the same port, it keeps its tree.

#include <signal.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/digest.h"
#include "core/logger.h"
#include "serve/auth_file.h"
#include "serve/cache_service.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/node_api.h"
#include "serve/node_store.h"

namespace depot::cluster::fixture {

inline constexpr const char* kNodeToken = "gateway-secret";

class InProcessNode {
 public:
  InProcessNode(std::filesystem::path root, std::string name, uint64_t capacity = 0)
      : root_(std::move(root)), name_(std::move(name)), capacity_(capacity) {
    ::signal(SIGPIPE, SIG_IGN);  // as `depot serve` does: sendfile meets closed peers
    std::filesystem::create_directories(root_);
  }
  ~InProcessNode() { stop(); }

  // Starts on `port` (0: any; the last port after a stop).
  void start() {
    NodeOptions no;
    no.root = root_;
    no.name = name_;
    no.capacity = capacity_;
    no.free_bytes = free_bytes;
    store_ = std::move(NodeStore::open(no, null_logger()).value());
    auth_ = std::move(AuthTable::parse(std::string("gateway:") + sha256_hex(kNodeToken) +
                                           ":full\n",
                                       "auth")
                          .value());
    api_ = std::make_unique<NodeApi>(*store_, name_, &auth_, null_logger());
    ServiceOptions so;
    so.root = root_;
    so.mutable_tree = true;
    service_ = std::move(CacheService::create(so, metrics_, null_logger()).value());
    ServerOptions sv;
    sv.port = port_;
    sv.threads = 2;
    server_ = std::make_unique<HttpServer>(sv, *service_, metrics_, nullptr, null_logger(),
                                           api_.get());
    port_ = server_->listen().value();
    thread_ = std::thread([this] { server_->run(); });
  }

  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
    service_.reset();
    api_.reset();
    store_.reset();
  }

  // The disk's free space as the node reports it; null: statvfs. Set before start().
  std::function<Result<uint64_t>()> free_bytes;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& name() const { return name_; }
  const std::filesystem::path& root() const { return root_; }
  const ServeMetrics& metrics() const { return metrics_; }
  bool holds(const std::string& path) const {
    return std::filesystem::is_regular_file(root_ / path);
  }

 private:
  std::filesystem::path root_;
  std::string name_;
  uint64_t capacity_;
  uint16_t port_ = 0;
  std::unique_ptr<NodeStore> store_;
  AuthTable auth_;
  std::unique_ptr<NodeApi> api_;
  ServeMetrics metrics_;
  std::unique_ptr<CacheService> service_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace depot::cluster::fixture
