#include "serve/cidr.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(Cidr, ContainsAddressesOfItsNetworkOnly) {
  auto net = parse_cidr("10.1.0.0/16").value();
  EXPECT_TRUE(cidr_contains(net, "10.1.2.3"));
  EXPECT_TRUE(cidr_contains(net, "::ffff:10.1.200.3"));  // IPv4-mapped
  EXPECT_FALSE(cidr_contains(net, "10.2.0.1"));
  EXPECT_FALSE(cidr_contains(net, "fe80::1"));
  EXPECT_FALSE(cidr_contains(net, "not an address"));
  EXPECT_TRUE(cidr_contains(parse_cidr("0.0.0.0/0").value(), "192.0.2.1"));
  auto host = parse_cidr("127.0.0.1").value();
  EXPECT_TRUE(cidr_contains(host, "127.0.0.1"));
  EXPECT_FALSE(cidr_contains(host, "127.0.0.2"));
  auto v6 = parse_cidr("2001:db8::/33").value();
  EXPECT_TRUE(cidr_contains(v6, "2001:db8:7fff::1"));
  EXPECT_FALSE(cidr_contains(v6, "2001:db8:8000::1"));
  EXPECT_FALSE(cidr_contains(v6, "10.1.2.3"));
}

TEST(Cidr, RefusesWhatIsNoNetwork) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129", "host/8",
                          "10.0.0.0/8/8", "10.0.0.0/-1"}) {
    auto c = parse_cidr(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message.find(bad), std::string::npos);
  }
  auto list = parse_cidr_list("127.0.0.1, 10.0.0.0/8,");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_TRUE(any_cidr_contains(*list, "10.9.9.9"));
  EXPECT_FALSE(parse_cidr_list("127.0.0.1,nope").ok());
  EXPECT_TRUE(parse_cidr_list("").value().empty());
}

}  // namespace
}  // namespace depot
