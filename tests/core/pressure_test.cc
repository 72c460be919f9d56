#include "core/pressure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

IpAddress V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress ip;
  ip.family = 4;
  ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
  return ip;
}

SocketRecord Conn(HostSnapshot& snap, IpAddress src, Port sport, IpAddress dst, Port dport,
                  SocketState st) {
  SocketRecord s;
  s.proto = Protocol::kTcp;
  s.state = st;
  snap.SetAddresses(s, src, dst);
  s.local_port = sport;
  s.remote_port = dport;
  return s;
}

TEST(Pressure, CountsPerSourceAndDestinationWithThresholds) {
  HostSnapshot snap;
  snap.config.ephemeral = PortRange{40000, 40099};  // 100 usable ports
  const IpAddress me = V4(10, 0, 0, 1), db = V4(10, 0, 0, 9), web = V4(10, 0, 0, 8);
  for (Port p = 0; p < 85; ++p) {
    snap.sockets.push_back(Conn(snap, me, static_cast<Port>(40000 + p), db, 5432,
                                p < 60 ? SocketState::kTimeWait : SocketState::kEstablished));
  }
  for (Port p = 0; p < 55; ++p) {  // the 4-tuple rule: the same source ports toward another peer
    snap.sockets.push_back(Conn(snap, me, static_cast<Port>(40000 + p), web, 443, SocketState::kEstablished));
  }
  for (Port p = 0; p < 10; ++p) {
    snap.sockets.push_back(Conn(snap, me, static_cast<Port>(40000 + p), web, 80, SocketState::kEstablished));
  }
  auto r = AnalyzePressure(snap);
  EXPECT_EQ(r.usable, 100u);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].destination_port, 5432);
  EXPECT_EQ(r.rows[0].sockets, 85u);
  EXPECT_EQ(r.rows[0].time_wait, 60u);
  EXPECT_DOUBLE_EQ(r.rows[0].share, 0.85);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].severity, Severity::kError);    // 85 % >= 80 %
  EXPECT_EQ(r.findings[1].severity, Severity::kWarning);  // 55 % >= 50 %
  EXPECT_THAT(r.findings[0].subject, HasSubstr("10.0.0.9:5432"));
}

TEST(Pressure, AdviceIsCorrectAboutTimeWait) {
  HostSnapshot snap;
  snap.config.ephemeral = PortRange{40000, 40009};
  snap.config.tcp_tw_reuse = 2;  // loopback only (the default)
  const IpAddress me = V4(10, 0, 0, 1), peer = V4(10, 0, 0, 2);
  for (Port p = 0; p < 9; ++p) {
    snap.sockets.push_back(Conn(snap, me, static_cast<Port>(40000 + p), peer, 80, SocketState::kTimeWait));
  }
  auto r = AnalyzePressure(snap);
  ASSERT_EQ(r.findings.size(), 1u);
  const std::string& fix = r.findings[0].fix;
  EXPECT_THAT(fix, HasSubstr("tcp_tw_reuse=1"));
  EXPECT_THAT(fix, HasSubstr("tcp_fin_timeout does not shorten TIME_WAIT"));
  EXPECT_THAT(fix, Not(HasSubstr("tcp_tw_recycle")));
  EXPECT_THAT(fix, HasSubstr("IP_BIND_ADDRESS_NO_PORT"));

  // To a loopback peer tw_reuse=2 already applies: do not tell the user to turn it on.
  HostSnapshot lo = snap;
  for (auto& s : lo.sockets) s.remote = lo.addresses.Intern(V4(127, 0, 0, 1));
  auto r2 = AnalyzePressure(lo);
  ASSERT_EQ(r2.findings.size(), 1u);
  EXPECT_THAT(r2.findings[0].fix, Not(HasSubstr("tcp_tw_reuse=1")));
}

TEST(Pressure, TwReuseIsNotAdvisedWithoutTimestamps) {
  HostSnapshot snap;
  snap.config.ephemeral = PortRange{40000, 40009};
  snap.config.tcp_tw_reuse = 1;
  snap.config.tcp_timestamps = 0;
  const IpAddress me = V4(10, 0, 0, 1), peer = V4(10, 0, 0, 2);
  for (Port p = 0; p < 9; ++p) {
    snap.sockets.push_back(Conn(snap, me, static_cast<Port>(40000 + p), peer, 80, SocketState::kTimeWait));
  }
  auto r = AnalyzePressure(snap);
  ASSERT_EQ(r.findings.size(), 1u);
  const std::string& fix = r.findings[0].fix;
  EXPECT_THAT(fix, HasSubstr("net.ipv4.tcp_timestamps is 0 here, so tcp_tw_reuse cannot help"));
  EXPECT_THAT(fix, HasSubstr("sysctl -w net.ipv4.tcp_timestamps=1 lets"));
  EXPECT_THAT(fix, Not(HasSubstr("tcp_tw_reuse already applies")));
  snap.config.tcp_tw_reuse = 0;
  auto r2 = AnalyzePressure(snap);
  ASSERT_EQ(r2.findings.size(), 1u);
  EXPECT_THAT(r2.findings[0].fix, HasSubstr("sysctl -w net.ipv4.tcp_timestamps=1 net.ipv4.tcp_tw_reuse=1"));
}

TEST(Pressure, ServerSideAndReservedPortsDoNotCount) {
  HostSnapshot snap;
  snap.config.ephemeral = PortRange{40000, 40099};
  snap.config.reserved = *PortSet::Parse("40090-40099");
  const IpAddress me = V4(10, 0, 0, 1), client = V4(10, 0, 0, 2);
  SocketRecord listener = Conn(snap, me, 40050, IpAddress{}, 0, SocketState::kListen);
  snap.sockets.push_back(listener);
  for (Port p = 0; p < 70; ++p) {  // accepted connections share the listener's port
    snap.sockets.push_back(Conn(snap, me, 40050, client, static_cast<Port>(50000 + p), SocketState::kEstablished));
  }
  snap.sockets.push_back(Conn(snap, me, 8080, client, 9999, SocketState::kEstablished));  // outside the range
  auto r = AnalyzePressure(snap);
  EXPECT_EQ(r.usable, 89u);  // 100 - 10 reserved - 1 listening
  EXPECT_TRUE(r.rows.empty());
  EXPECT_TRUE(r.findings.empty());
}

}  // namespace
}  // namespace berth
