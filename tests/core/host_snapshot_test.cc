#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "core/socket.h"

namespace berth {
namespace {

TEST(HostSnapshot, UidAndDeviceAreSetIndependently) {
  HostSnapshot snap;
  SocketRecord a, b;
  snap.SetUid(a, 1000);
  snap.SetInterface(a, 7);
  snap.interfaces[0].second = "eth0";
  snap.SetInterface(b, 7);
  snap.SetUid(b, 33);
  EXPECT_EQ(snap.Uid(a), 1000u);
  EXPECT_EQ(snap.InterfaceName(a), "eth0");
  EXPECT_EQ(snap.Uid(b), 33u);
  EXPECT_EQ(snap.InterfaceName(b), "eth0");
  snap.SetInterface(a, 0);  // the device goes, the uid stays
  EXPECT_EQ(snap.Uid(a), 1000u);
  EXPECT_FALSE(snap.HasInterface(a));
  SocketRecord fresh;
  EXPECT_EQ(snap.Uid(fresh), 0u);
  EXPECT_FALSE(snap.HasInterface(fresh));
}

TEST(HostSnapshot, ManySocketsShareFewPairs) {
  HostSnapshot snap;
  snap.sockets.resize(10000);
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    snap.SetUid(snap.sockets[i], static_cast<std::uint32_t>(i % 3 == 0 ? 0 : 100 + i % 5));
  }
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    ASSERT_EQ(snap.Uid(snap.sockets[i]), i % 3 == 0 ? 0u : 100 + i % 5) << i;
  }
  EXPECT_LE(snap.attrs.size(), 6u);  // {0, none} and five uids
  EXPECT_FALSE(snap.partial);
}

TEST(HostSnapshot, PairsPastWhatARecordIndexesAreUnknownAndSaidSo) {
  HostSnapshot snap;
  snap.sockets.resize(40000);
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    snap.SetUid(snap.sockets[i], static_cast<std::uint32_t>(i));
  }
  // Index 0 is uid 0; 32,766 more pairs fit in the 15-bit field (its last value marks "full").
  for (std::size_t i = 0; i < 32767; ++i) ASSERT_EQ(snap.Uid(snap.sockets[i]), i) << i;
  for (std::size_t i = 32767; i < snap.sockets.size(); ++i) {
    ASSERT_EQ(snap.Uid(snap.sockets[i]), kUnknownUid) << i;
  }
  EXPECT_TRUE(snap.partial);
  ASSERT_EQ(snap.warnings.size(), 1u);  // once, not per socket
  EXPECT_NE(snap.warnings[0].find("4294967295 (unknown)"), std::string::npos) << snap.warnings[0];
  // A pair already known still resolves after the table is full.
  SocketRecord again;
  snap.SetUid(again, 5);
  EXPECT_EQ(snap.Uid(again), 5u);
}

TEST(IpAddress, Ipv4TextIsInetNtopsForEveryOctetWidth) {
  for (unsigned v : {0u, 1u, 9u, 10u, 42u, 99u, 100u, 101u, 199u, 200u, 255u}) {
    IpAddress a;
    a.family = 4;
    a.bytes = {static_cast<std::uint8_t>(v), 0, static_cast<std::uint8_t>(255 - v), static_cast<std::uint8_t>(v / 2)};
    char want[INET_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET, a.bytes.data(), want, sizeof want), nullptr);
    EXPECT_EQ(a.Format(), want);
    std::string endpoint;
    AppendEndpoint(endpoint, a, 8080);
    EXPECT_EQ(endpoint, std::string(want) + ":8080");
  }
}

TEST(HostSnapshot, OwnersOfASocketPrimaryFirst) {
  HostSnapshot snap;
  snap.sockets.resize(4);
  snap.processes = {{10, 0, "root", "a", "", ""}, {20, 0, "root", "b", "", ""}};
  snap.owners = {{0, 0, 3}, {0, 1, 4}, {2, 1, 5}};  // sorted by (socket, process)
  EXPECT_EQ(snap.OwnersOf(0).size(), 2u);
  EXPECT_EQ(snap.PrimaryOwner(0), 0);
  EXPECT_TRUE(snap.OwnersOf(1).empty());
  EXPECT_EQ(snap.PrimaryOwner(1), -1);
  ASSERT_EQ(snap.OwnersOf(2).size(), 1u);
  EXPECT_EQ(snap.OwnersOf(2)[0].fd, 5);
  EXPECT_EQ(snap.PrimaryOwner(3), -1);
}

}  // namespace
}  // namespace berth
