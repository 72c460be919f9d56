// The pure checks behind `berth probe --broadcast`, on interface lists built by hand: which
// address may be broadcast to, the refusal that lists the local ones, the subnet of replies.
#include "probe/local_broadcast.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::probe {
namespace {

constexpr std::uint32_t Ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

const std::vector<LocalBroadcast> kLocal{
    {"br0", Ip(198, 18, 0, 1), Ip(255, 255, 255, 0), Ip(198, 18, 0, 255)},
    {"br0", Ip(198, 18, 0, 9), Ip(255, 255, 255, 0), Ip(198, 18, 0, 255)},  // a second address
    {"eth1", Ip(198, 19, 4, 1), Ip(255, 255, 252, 0), Ip(198, 19, 7, 255)},
};

TEST(ProbeLocalBroadcast, ChoosesOnlyALocalBroadcastAddress) {
  auto b = ChooseBroadcast(kLocal, "198.19.7.255");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->interface, "eth1");
  EXPECT_EQ(SubnetText(*b), "198.19.4.0/22");
  for (const char* bad : {"198.18.0.1", "198.18.0.0", "255.255.255.255", "198.18.1.255", "::1", "br0", ""}) {
    auto r = ChooseBroadcast(kLocal, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("the local broadcast addresses are 198.18.0.255 (br0), 198.19.7.255 (eth1)"),
              std::string::npos)
        << r.error().message;
  }
  auto none = ChooseBroadcast({}, "198.18.0.255");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no local broadcast addresses"), std::string::npos) << none.error().message;
}

TEST(ProbeLocalBroadcast, OwnerAndSubnet) {
  ASSERT_TRUE(BroadcastOwner(kLocal, "198.18.0.255"));
  EXPECT_EQ(BroadcastOwner(kLocal, "198.18.0.255")->interface, "br0");
  EXPECT_FALSE(BroadcastOwner(kLocal, "198.18.0.254"));
  EXPECT_FALSE(BroadcastOwner(kLocal, "2001:db8::ff"));
  const LocalBroadcast& eth1 = kLocal[2];
  EXPECT_TRUE(InSubnet(eth1, Ip(198, 19, 4, 0)));
  EXPECT_TRUE(InSubnet(eth1, Ip(198, 19, 6, 77)));
  EXPECT_FALSE(InSubnet(eth1, Ip(198, 19, 8, 1)));
  EXPECT_FALSE(InSubnet(eth1, Ip(198, 18, 0, 2)));
  EXPECT_EQ(Ipv4Text(Ip(198, 18, 0, 255)), "198.18.0.255");
}

TEST(ProbeLocalBroadcast, ReadsThisNamespace) {
  // Whatever this machine has: every entry is an IPv4 address inside its own subnet whose
  // broadcast address also is.
  auto local = ReadLocalBroadcasts();
  ASSERT_TRUE(local) << local.error().message;
  for (const LocalBroadcast& b : *local) {
    EXPECT_TRUE(InSubnet(b, b.address)) << b.interface;
    EXPECT_TRUE(InSubnet(b, b.broadcast)) << b.interface << " " << Ipv4Text(b.broadcast);
  }
}

}  // namespace
}  // namespace berth::probe
