// app::SessionsLockedOut on a host in memory: which established inbound TCP sessions the
// rules would close, without root or a kernel.
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "app/firewall.h"
#include "app/fixed_host.h"

namespace berth {
namespace {

using test::FixedHost;

IpAddress V4(const char* text) {
  IpAddress a;
  a.family = 4;
  ::inet_pton(AF_INET, text, a.bytes.data());
  return a;
}

SocketRecord Tcp(HostSnapshot& snap, SocketState state, const char* local, Port lport,
                 const char* remote, Port rport) {
  SocketRecord s;
  s.proto = Protocol::kTcp;
  s.state = state;
  snap.SetAddresses(s, V4(local), V4(remote));
  s.local_port = lport;
  s.remote_port = rport;
  return s;
}

class SessionsLockedOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.snap.sockets = {
        Tcp(host_.snap, SocketState::kListen, "0.0.0.0", 22, "0.0.0.0", 0),
        Tcp(host_.snap, SocketState::kListen, "0.0.0.0", 20001, "0.0.0.0", 0),
        // The operator's SSH session.
        Tcp(host_.snap, SocketState::kEstablished, "198.18.0.1", 22, "198.18.0.2", 50000),
        // A client of the registered service: stays open.
        Tcp(host_.snap, SocketState::kEstablished, "198.18.0.1", 20001, "198.18.0.3", 50001),
        // Outbound (this host connected to a peer's 22): not inbound.
        Tcp(host_.snap, SocketState::kEstablished, "198.18.0.1", 40000, "198.18.0.9", 22),
        // Over loopback: every format admits lo.
        Tcp(host_.snap, SocketState::kEstablished, "127.0.0.1", 22, "127.0.0.1", 50002),
    };
    services_.push_back(Service{});
    services_[0].name = "app";
    services_[0].group = "default";
    services_[0].port = 20001;
    services_[0].proto = ServiceProto::kTcp;
  }
  FixedHost host_;
  std::vector<Service> services_;
};

TEST_F(SessionsLockedOutTest, NamesTheInboundSessionOnAClosedPort) {
  auto r = app::SessionsLockedOut(FirewallFormat::kNft, services_, FirewallOptions{}, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(host_.last_query.all_states);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].local_port, 22);
  EXPECT_EQ((*r)[0].peer.Format(), "198.18.0.2");
  EXPECT_EQ((*r)[0].peer_port, 50000);
}

TEST_F(SessionsLockedOutTest, AllowListSourcesAndPolicyAcceptKeepItOpen) {
  FirewallOptions allow;
  allow.allow = PortSet{{22, 22}};
  auto r = app::SessionsLockedOut(FirewallFormat::kNft, services_, allow, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());

  FirewallOptions accept;
  accept.policy = FirewallPolicy::kAccept;
  r = app::SessionsLockedOut(FirewallFormat::kNft, services_, accept, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());

  // SSH registered only from the operator's network: kept; from another network: closed.
  services_.push_back(services_[0]);
  services_[1].name = "ssh";
  services_[1].port = 22;
  services_[1].sources = {"198.18.0.0/24"};
  r = app::SessionsLockedOut(FirewallFormat::kNft, services_, FirewallOptions{}, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
  services_[1].sources = {"192.0.2.0/24"};
  r = app::SessionsLockedOut(FirewallFormat::kNft, services_, FirewallOptions{}, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 1u);
}

TEST_F(SessionsLockedOutTest, Ip6tablesLeavesIpv4SessionsAlone) {
  auto r = app::SessionsLockedOut(FirewallFormat::kIp6tables, services_, FirewallOptions{}, host_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace berth
