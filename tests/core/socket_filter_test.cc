#include "core/socket_filter.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

SocketRecord Listener(HostSnapshot& snap, Port port, std::uint8_t family = 4) {
  SocketRecord s;
  IpAddress any;
  any.family = family;
  snap.SetAddresses(s, any, any);
  s.local_port = port;
  return s;
}

HostSnapshot Snapshot() {
  HostSnapshot snap;
  snap.sockets = {Listener(snap, 22), Listener(snap, 80, 6), Listener(snap, 45001)};
  snap.processes = {{101, 0, "root", "sshd", "ssh.service", ""},
                    {202, 33, "www-data", "nginx", "nginx.service", ""}};
  snap.owners = {{0, 0, 3}, {1, 1, 6}, {2, 1, 7}};
  snap.owners_resolved = true;
  return snap;
}

TEST(SocketFilter, StateNamesAreSs) {
  auto listening = ParseStateName("listening");
  ASSERT_TRUE(listening);
  EXPECT_EQ(*listening, SocketState::kListen);
  auto tw = ParseStateName("TIME-WAIT");
  ASSERT_TRUE(tw);
  EXPECT_EQ(*tw, SocketState::kTimeWait);
  auto unconn = ParseStateName("unconn");
  ASSERT_TRUE(unconn);
  EXPECT_EQ(*unconn, SocketState::kClose);
  auto bad = ParseStateName("up\x1b[2J");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find('\x1b'), std::string::npos);
}

TEST(SocketFilter, UnitsMatchAsSystemctlNamesThem) {
  const HostSnapshot snap = Snapshot();
  SocketFilter f;
  f.units = {"ssh"};
  EXPECT_TRUE(Matches(f, snap, 0));
  EXPECT_FALSE(Matches(f, snap, 1));
  f.units = {"ssh.service"};
  EXPECT_TRUE(Matches(f, snap, 0));
  f.units = {"ss"};  // a prefix is not a unit
  EXPECT_FALSE(Matches(f, snap, 0));
}

TEST(SocketFilter, NarrowKeepsMatchesAndRenumbersOwners) {
  HostSnapshot snap = Snapshot();
  SocketFilter f;
  f.processes = {"nginx"};
  f.family = 4;
  const std::vector<std::size_t> kept = Narrow(f, snap);
  EXPECT_EQ(kept, (std::vector<std::size_t>{2}));
  ASSERT_EQ(snap.sockets.size(), 1u);
  EXPECT_EQ(snap.sockets[0].local_port, 45001);
  ASSERT_EQ(snap.owners.size(), 1u);
  EXPECT_EQ(snap.owners[0].socket, 0u);
  EXPECT_EQ(snap.owners[0].process, 1u);
  EXPECT_EQ(snap.owners[0].fd, 7);
}

TEST(SocketFilter, FindingsFollowTheKeptSockets) {
  HostSnapshot snap = Snapshot();
  SocketFilter f;
  f.ports = *PortSet::Parse("45001");
  Narrow(f, snap);
  Finding host;  // about the whole host: no ports
  host.subject = "host";
  Finding eph;
  eph.ports = *PortSet::Parse("45001");
  eph.pids = {202};
  Finding other_pid = eph;
  other_pid.pids = {101};
  Finding ssh;
  ssh.ports = *PortSet::Parse("22");
  const auto kept = FilterFindings(f, snap, {host, eph, other_pid, ssh});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].pids, (std::vector<int>{202}));
  // No filter: every finding stays.
  EXPECT_EQ(FilterFindings(SocketFilter{}, snap, {host, eph, other_pid, ssh}).size(), 4u);
}

}  // namespace
}  // namespace berth
