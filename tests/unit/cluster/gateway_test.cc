#include "cluster/gateway.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "node_fixture.h"
#include "core/digest.h"
#include "core/logger.h"
#include "support/temp_dir.h"

namespace depot::cluster {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using fixture::InProcessNode;
using fixture::kNodeToken;

BodyReader reader_of(const std::string& data) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, pos](char* buf, size_t n) -> long {
    size_t k = std::min(n, data.size() - *pos);
    std::memcpy(buf, data.data() + *pos, k);
    *pos += k;
    return static_cast<long>(k);
  };
}

std::string body_of(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 13) % 23);
  return s;
}

// Three (or more) in-process nodes and a gateway over them with R=2, checked every 50 ms and
// down after one missed check.
class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 3; ++i) add_node("n" + std::to_string(i));
  }
  void TearDown() override {
    if (gw_) gw_->stop();
  }

  InProcessNode& add_node(const std::string& name, uint64_t capacity = 0) {
    nodes_.push_back(std::make_unique<InProcessNode>(dir_.path() / name, name, capacity));
    nodes_.back()->start();
    return *nodes_.back();
  }

  Gateway& start_gateway(int copies = 2, milliseconds grace = milliseconds(0)) {
    GatewayOptions o;
    o.name = "gw";
    o.state_dir = dir_.path() / "state";
    o.copies = copies;
    o.node_token = kNodeToken;
    o.check_interval = milliseconds(50);
    o.down_after = 1;
    o.down_grace = grace;
    o.repair_interval = milliseconds(0);
    for (const auto& n : nodes_) o.nodes.push_back({n->name(), n->url(), kNodeToken});
    gw_ = std::make_unique<Gateway>(o, null_logger());
    EXPECT_TRUE(gw_->start().ok());
    return *gw_;
  }

  PutReport put(const std::string& path, const std::string& body, bool overwrite = true) {
    return gw_->put(path, body.size(), sha256_hex(body), reader_of(body), overwrite);
  }

  Result<std::string> read(const std::string& path) {
    auto where = gw_->locate(path);
    if (!where.ok()) return where.error();
    return read_from(path, *where);
  }

  // The whole file from the holders `where` named (perhaps no longer true).
  Result<std::string> read_from(const std::string& path, const Located& where) {
    std::string out;
    Status st = gw_->read(path, where, 0, where.size, [&](const char* d, size_t n) {
      out.append(d, n);
      return true;
    });
    if (!st.ok()) return st.error();
    return out;
  }

  std::vector<std::string> holders(const std::string& path) const {
    std::vector<std::string> out;
    for (const auto& n : nodes_) {
      if (n->holds(path)) out.push_back(n->name());
    }
    return out;
  }

  InProcessNode& node(const std::string& name) {
    for (auto& n : nodes_) {
      if (n->name() == name) return *n;
    }
    throw std::runtime_error("no node " + name);
  }

  bool wait_down(const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      for (const NodeView& v : gw_->nodes()) {
        if (v.name == name && !v.up) return true;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  depot::testing::TempDir dir_;
  std::vector<std::unique_ptr<InProcessNode>> nodes_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(GatewayTest, AnUploadLandsOnTheRPlacementNodes) {
  Gateway& gw = start_gateway();
  const std::string body = body_of(300000, 'a');
  PutReport rep = put("pool/a.deb", body);
  ASSERT_EQ(rep.status, 201) << rep.message;
  EXPECT_EQ(rep.stored.size(), 2u);
  auto w = gw.whereis("pool/a.deb");
  ASSERT_TRUE(w.ok());
  std::vector<std::string> placement = w->placement;
  std::sort(placement.begin(), placement.end());
  EXPECT_EQ(holders("pool/a.deb"), placement);
  EXPECT_EQ(read("pool/a.deb").value(), body);
}

// Placement weighs a node by its size, not by its free space: other tenants of a shared disk
// filling it must not move where paths belong.
TEST_F(GatewayTest, PlacementDoesNotMoveAsTheDisksFill) {
  auto free = std::make_shared<std::array<std::atomic<uint64_t>, 3>>();
  for (size_t i = 0; i < 3; ++i) {
    (*free)[i] = uint64_t{100} << 30;
    nodes_[i]->stop();
    nodes_[i]->free_bytes = [free, i]() -> Result<uint64_t> { return (*free)[i].load(); };
    nodes_[i]->start();
  }
  Gateway& gw = start_gateway();
  auto placements = [&] {
    std::vector<std::vector<std::string>> out;
    for (int k = 0; k < 200; ++k) {
      out.push_back(gw.whereis("pool/f" + std::to_string(k)).value().placement);
    }
    return out;
  };
  const auto before = placements();
  (*free)[0] = uint64_t{1} << 30;
  (*free)[1] = uint64_t{50} << 30;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (gw.nodes()[1].free != uint64_t{50} << 30 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));  // checks every 50 ms read the new figures
  }
  ASSERT_EQ(gw.nodes()[0].free, uint64_t{1} << 30);
  EXPECT_EQ(placements(), before);
}

TEST_F(GatewayTest, AReadFailsOverToTheNextHolder) {
  Gateway& gw = start_gateway();
  const std::string body = body_of(200000, 'b');
  ASSERT_EQ(put("pool/b.deb", body).status, 201);
  auto where = gw.locate("pool/b.deb");
  ASSERT_TRUE(where.ok());
  ASSERT_EQ(where->nodes.size(), 2u);
  const std::string first = gw.nodes()[where->nodes[0]].name;
  node(first).stop();  // not yet seen down: the read meets it refusing
  auto out = read_from("pool/b.deb", *where);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, body);
  EXPECT_EQ(gw.metrics().read_failovers.load(), 1u);
}

TEST_F(GatewayTest, AHolderThatLostItsCopyIsDroppedFromTheLog) {
  Gateway& gw = start_gateway();
  const std::string body = body_of(5000, 'c');
  ASSERT_EQ(put("pool/c.deb", body).status, 201);
  auto where = gw.locate("pool/c.deb");
  ASSERT_TRUE(where.ok());
  const std::string first = gw.nodes()[where->nodes[0]].name;
  fs::remove(node(first).root() / "pool/c.deb");
  EXPECT_EQ(read("pool/c.deb").value(), body);
  const std::vector<Copy> left = gw.log().holders("pool/c.deb").value();
  for (const Copy& c : left) EXPECT_NE(c.node, first);
}

TEST_F(GatewayTest, NoNodeUpIs503AndNoRoomIs507) {
  nodes_.clear();
  add_node("small", 1000);
  Gateway& gw = start_gateway(1);
  EXPECT_EQ(put("big", body_of(5000, 'd')).status, 507);
  EXPECT_EQ(put("fits", body_of(500, 'd')).status, 201);
  node("small").stop();
  ASSERT_TRUE(wait_down("small"));
  EXPECT_EQ(put("later", body_of(10, 'd')).status, 503);
  (void)gw;
}

TEST_F(GatewayTest, AWrongDigestIsStoredNowhere) {
  start_gateway();
  const std::string body = body_of(1000, 'e');
  PutReport rep = gw_->put("pool/e.deb", body.size(), sha256_hex("other"), reader_of(body), true);
  EXPECT_EQ(rep.status, 409);
  EXPECT_TRUE(holders("pool/e.deb").empty());
}

TEST_F(GatewayTest, WithoutOverwriteAnExistingPathIsRefused) {
  start_gateway();
  ASSERT_EQ(put("pool/f.deb", "one").status, 201);
  EXPECT_EQ(put("pool/f.deb", "two", /*overwrite=*/false).status, 409);
  EXPECT_EQ(read("pool/f.deb").value(), "one");
}

TEST_F(GatewayTest, ADropReachesCopiesTheLogDoesNotKnow) {
  Gateway& gw = start_gateway();
  ASSERT_EQ(put("pool/g.deb", "gee").status, 201);
  for (auto& n : nodes_) {
    if (!n->holds("pool/g.deb")) {
      NodeClient c({n->name(), n->url(), kNodeToken});
      ASSERT_TRUE(c.put("pool/g.deb", 3, sha256_hex("gee"), reader_of(std::string("gee"))).stored);
    }
  }
  DropReport rep = gw.drop("pool/g.deb");
  EXPECT_EQ(rep.status, 200);
  EXPECT_EQ(rep.removed.size(), 3u);
  EXPECT_TRUE(holders("pool/g.deb").empty());
}

TEST_F(GatewayTest, ARepairPassRestoresRCopiesFromALiveHolder) {
  Gateway& gw = start_gateway(2, milliseconds(60000));  // the repair thread waits out the grace
  std::vector<std::string> paths;
  for (int i = 0; i < 20; ++i) {
    paths.push_back("pool/r" + std::to_string(i));
    ASSERT_EQ(put(paths.back(), body_of(1000 + i, 'r')).status, 201);
  }
  node("n1").stop();
  ASSERT_TRUE(wait_down("n1"));
  Gateway::PassReport within = gw.run_pass(Gateway::PassMode::kCheck);
  EXPECT_EQ(within.short_paths, 0u);  // within its grace, n1's copies still count
  gw_->stop();
  gw_.reset();
  start_gateway(2, milliseconds(0));  // now the grace is over at once
  Gateway& now = *gw_;
  ASSERT_TRUE(wait_down("n1"));
  Gateway::PassReport check = now.run_pass(Gateway::PassMode::kCheck);
  // The repair thread may have started on them already: what is short plus what it copied.
  const uint64_t lost = check.short_paths + now.repair_stats().copied;
  EXPECT_GT(lost, 0u);
  Gateway::PassReport rep = now.run_pass(Gateway::PassMode::kRepair);
  EXPECT_EQ(rep.short_paths, 0u);
  EXPECT_EQ(now.repair_stats().copied, lost);
  for (const auto& p : paths) {
    EXPECT_EQ(holders(p).size() - (node("n1").holds(p) ? 1 : 0), 2u) << p;
  }
  // n1 returns with its copies: they are extra now, and trimmed.
  node("n1").start();
  for (int i = 0; i < 200 && now.repair_stats().trimmed < lost; ++i) {
    if (i % 20 == 0) now.run_pass(Gateway::PassMode::kRepair);
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(now.repair_stats().trimmed, lost);
  for (const auto& p : paths) EXPECT_EQ(holders(p).size(), 2u) << p;
}

TEST_F(GatewayTest, RebuildReadsEveryInventoryAgain) {
  Gateway& gw = start_gateway();
  ASSERT_EQ(put("pool/x", "xx").status, 201);
  ASSERT_TRUE(gw.log().forget("n1").ok());
  ASSERT_TRUE(gw.log().forget("n2").ok());
  ASSERT_TRUE(gw.log().forget("n3").ok());
  ASSERT_TRUE(gw.rebuild().ok());
  EXPECT_EQ(gw.log().holders("pool/x").value().size(), 2u);
}

TEST_F(GatewayTest, AJoinMovesOnlyWhatPlacementSaysAndNeverBelowR) {
  Gateway& gw = start_gateway();
  std::vector<std::string> paths;
  for (int i = 0; i < 60; ++i) {
    paths.push_back("p/" + std::to_string(i));
    ASSERT_EQ(put(paths.back(), "x" + std::to_string(i)).status, 201);
  }
  InProcessNode& n4 = add_node("n4");
  ASSERT_TRUE(gw.add_node({"n4", n4.url(), ""}).ok());
  EXPECT_FALSE(gw.add_node({"n4", n4.url(), ""}).ok());  // a name in use
  Gateway::PassReport rep = gw.run_pass(Gateway::PassMode::kRebalance);
  EXPECT_EQ(rep.copied, rep.trimmed);
  EXPECT_GT(rep.copied, 0u);
  EXPECT_LT(rep.copied, 60u);  // about 1/4 of 120 copies; modulo placement would move most
  for (const auto& p : paths) {
    auto w = gw.whereis(p).value();
    std::sort(w.placement.begin(), w.placement.end());
    EXPECT_EQ(holders(p), w.placement) << p;
  }
}

TEST_F(GatewayTest, ADrainedNodeIsEmptiedThenRemoved) {
  Gateway& gw = start_gateway();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(put("d/" + std::to_string(i), "d").status, 201);
  EXPECT_EQ(gw.remove_node("n2").error().code, ErrorCode::kRefused);  // not drained
  ASSERT_TRUE(gw.drain_node("n2").ok());
  gw.run_pass(Gateway::PassMode::kRepair);  // one pass copies elsewhere, then trims
  ASSERT_TRUE(gw.remove_node("n2").ok());
  for (int i = 0; i < 20; ++i) {
    const std::string p = "d/" + std::to_string(i);
    EXPECT_FALSE(node("n2").holds(p));
    EXPECT_EQ(holders(p).size(), 2u);
  }
}

TEST_F(GatewayTest, MembershipOutlivesARestart) {
  Gateway& gw = start_gateway();
  InProcessNode& n4 = add_node("n4");
  ASSERT_TRUE(gw.add_node({"n4", n4.url(), ""}).ok());
  ASSERT_TRUE(gw.drain_node("n3").ok());
  gw.stop();
  nodes_.pop_back();  // n4 is not in the --node list of the next start
  auto again = std::make_unique<Gateway>(gw_->options(), null_logger());
  gw_ = std::move(again);
  ASSERT_TRUE(gw_->start().ok());
  bool has_n4 = false, n3_draining = false;
  for (const NodeView& v : gw_->nodes()) {
    has_n4 = has_n4 || v.name == "n4";
    n3_draining = n3_draining || (v.name == "n3" && v.draining);
  }
  EXPECT_TRUE(has_n4);
  EXPECT_TRUE(n3_draining);
}

}  // namespace
}  // namespace depot::cluster
