#include "core/audit.h"

#include "core/nfs_ports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace berth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A snapshot builder: servers with owners, on a host with the given sysctls.
class Host {
 public:
  Host() { snap_.owners_resolved = true; }
  int Process(std::string command, int pid) {
    snap_.processes.push_back(ProcessInfo{pid, 0, "root", std::move(command), "", ""});
    return static_cast<int>(snap_.processes.size() - 1);
  }
  Host& Listen(Protocol proto, Port port, int process, int family = 4) {
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    IpAddress any;
    any.family = static_cast<std::uint8_t>(family);
    snap_.SetAddresses(s, any, any);
    s.local_port = port;
    s.inode = static_cast<std::uint32_t>(snap_.sockets.size() + 100);
    snap_.sockets.push_back(s);
    if (process >= 0) {
      snap_.owners.push_back(SocketOwner{static_cast<std::uint32_t>(snap_.sockets.size() - 1),
                                         static_cast<std::uint32_t>(process), 3});
    }
    return *this;
  }
  HostSnapshot& snap() { return snap_; }
  std::vector<Finding> Audit() { return AuditHost(snap_); }

 private:
  HostSnapshot snap_;
};

const Finding* Find(const std::vector<Finding>& f, std::string_view id, std::string_view subject = {}) {
  for (const Finding& x : f) {
    if (FindingIdName(x.id) == id && (subject.empty() || x.subject.find(subject) != std::string::npos)) return &x;
  }
  return nullptr;
}

TEST(Audit, CleanHostHasNoFindings) {
  Host h;
  int sshd = h.Process("sshd", 812);
  h.Listen(Protocol::kTcp, 22, sshd).Listen(Protocol::kTcp, 22, sshd, 6);
  EXPECT_TRUE(h.Audit().empty());
}

TEST(Audit, ServerInsideTheEphemeralRangeGetsMoveAndReserveAdvice) {
  Host h;
  int app = h.Process("myapp", 4242);
  h.Listen(Protocol::kTcp, 40000, app).Listen(Protocol::kTcp, 40001, app);
  auto f = h.Audit();
  const Finding* e = Find(f, "ephemeral-listener");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->severity, Severity::kWarning);
  EXPECT_EQ(e->subject, "myapp (pid 4242)");
  EXPECT_EQ(e->ports.Format(), "40000-40001");
  EXPECT_EQ(e->pids, std::vector<int>{4242});
  EXPECT_THAT(e->why, HasSubstr("ephemeral range 32768-60999"));
  EXPECT_THAT(e->fix, HasSubstr("below 32768"));

  // The reserved list is empty: the host-level finding carries the exact sysctl line.
  const Finding* r = Find(f, "reserved-ports-empty");
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(r->fix, HasSubstr("sysctl -w net.ipv4.ip_local_reserved_ports=40000-40001"));
  EXPECT_THAT(r->fix, HasSubstr("/etc/sysctl.d/60-berth.conf"));
  EXPECT_EQ(Find(f, "unreserved-ephemeral-ports"), nullptr);
}

TEST(Audit, ReserveFixMergesWithTheCurrentValueAndNeverDropsEntries) {
  Host h;
  auto reserved = PortSet::Parse("8000,40000,50000-50010");
  ASSERT_TRUE(reserved) << reserved.error().message;
  h.snap().config.reserved = *reserved;
  int app = h.Process("myapp", 7);
  h.Listen(Protocol::kTcp, 40000, app).Listen(Protocol::kTcp, 45000, app);
  auto f = h.Audit();
  const Finding* r = Find(f, "unreserved-ephemeral-ports");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->ports.Format(), "45000");  // 40000 is already reserved
  EXPECT_THAT(r->fix,
              HasSubstr("net.ipv4.ip_local_reserved_ports=8000,40000,45000,50000-50010"));
  EXPECT_EQ(Find(f, "reserved-ports-empty"), nullptr);
}

TEST(Audit, FixesRunInTheAuditedNamespace) {
  Host h;
  h.snap().netns = "web1";
  h.Listen(Protocol::kTcp, 40000, h.Process("a", 1));
  auto f = h.Audit();
  const Finding* r = Find(f, "reserved-ports-empty");
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(r->fix, HasSubstr("ip netns exec web1 sysctl -w"));
}

TEST(Audit, UdpInsideTheRangeIsOnlyInfoAndNotReserved) {
  Host h;
  h.Listen(Protocol::kUdp, 50000, h.Process("dhclient", 9));
  auto f = h.Audit();
  const Finding* e = Find(f, "ephemeral-listener");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->severity, Severity::kInfo);
  EXPECT_EQ(Find(f, "reserved-ports-empty"), nullptr);  // a client's UDP port: never reserved
}

TEST(Audit, PortMappersAndTheirCompanions) {
  Host h;
  int rpcbind = h.Process("rpcbind", 500);
  int statd = h.Process("rpc.statd", 501);
  int mountd = h.Process("rpc.mountd", 502);
  h.Listen(Protocol::kTcp, 111, rpcbind).Listen(Protocol::kUdp, 111, rpcbind);
  h.Listen(Protocol::kTcp, 41234, statd).Listen(Protocol::kUdp, 51234, statd);
  h.Listen(Protocol::kTcp, 20048, mountd);  // pinned on its IANA port: fine
  auto f = h.Audit();
  const Finding* pm = Find(f, "port-mapper");
  ASSERT_NE(pm, nullptr);
  EXPECT_EQ(pm->severity, Severity::kWarning);
  EXPECT_THAT(pm->why, HasSubstr("rpcbind"));
  EXPECT_THAT(pm->fix, HasSubstr("[statd]\nport=32765\noutgoing-port=32766"));
  const Finding* statd_f = Find(f, "mapped-service", "rpc.statd");
  ASSERT_NE(statd_f, nullptr);
  EXPECT_THAT(statd_f->fix, HasSubstr("/etc/nfs.conf"));
  EXPECT_EQ(Find(f, "mapped-service", "rpc.mountd"), nullptr);
  // rpcbind on 111 is its own IANA port (sunrpc): no mismatch.
  EXPECT_EQ(Find(f, "iana-mismatch", "rpcbind"), nullptr);
}

TEST(Audit, SqlBrowserAndEndpointMapper) {
  Host h;
  h.Listen(Protocol::kUdp, 1434, h.Process("sqlbrowser", 10));
  h.Listen(Protocol::kTcp, 135, h.Process("samba-dcerpcd", 11));
  auto f = h.Audit();
  int mappers = static_cast<int>(std::count_if(f.begin(), f.end(),
                                               [](const Finding& x) { return x.id == FindingId::kPortMapper; }));
  EXPECT_EQ(mappers, 2);
  const Finding* sql = Find(f, "port-mapper", "sqlbrowser");
  ASSERT_NE(sql, nullptr);
  EXPECT_THAT(sql->fix, HasSubstr("Server=tcp:HOST,PORT"));
  // On Linux, SQL Server is pinned with mssql-conf, not Configuration Manager.
  EXPECT_THAT(sql->fix, HasSubstr("mssql-conf set network.tcpport"));
  EXPECT_THAT(sql->fix, Not(HasSubstr("Configuration Manager")));
  const Finding* epm = Find(f, "port-mapper", "samba");
  ASSERT_NE(epm, nullptr);
  EXPECT_THAT(epm->fix, HasSubstr("pins the set of ports"));
}

TEST(Audit, IanaMismatchIsInfoAndKnowsCommonDaemons) {
  Host h;
  h.Listen(Protocol::kTcp, 5432, h.Process("postgres", 20));
  h.Listen(Protocol::kTcp, 80, h.Process("nginx", 21));
  h.Listen(Protocol::kTcp, 3306, h.Process("python3", 22));
  auto f = h.Audit();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(FindingIdName(f[0].id), "iana-mismatch");
  EXPECT_EQ(f[0].severity, Severity::kInfo);
  EXPECT_EQ(f[0].subject, "python3 (pid 22)");
  EXPECT_THAT(f[0].why, HasSubstr("3306 is mysql"));
}

TEST(Audit, AConventionalPortIsAtHomeWithItsProductAndNamedForAnyOtherOwner) {
  Host h;
  h.Listen(Protocol::kTcp, 9090, h.Process("prometheus", 30));
  h.Listen(Protocol::kTcp, 9200, h.Process("java", 31));  // Elasticsearch, or anything
  h.Listen(Protocol::kTcp, 3000, h.Process("billing", 32));
  h.snap().processes.push_back(ProcessInfo{33, 0, "root", "bin", "elasticsearch.service", ""});
  h.Listen(Protocol::kTcp, 9300, 3);
  auto f = h.Audit();
  // Prometheus on 9090 (IANA: websm), java and a unit named for the product draw nothing.
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(FindingIdName(f[0].id), "conventional-port");
  EXPECT_EQ(f[0].severity, Severity::kInfo);
  EXPECT_EQ(f[0].subject, "billing (pid 32)");
  EXPECT_EQ(f[0].ports.Format(), "3000");
  EXPECT_THAT(f[0].why, HasSubstr("3000/tcp is where Grafana (web UI) listens by convention "
                                  "(IANA gives it to remoteware-cl), and 'billing' is not it"));
  EXPECT_THAT(f[0].fix, HasSubstr("berth adopt"));
  EXPECT_THAT(f[0].fix, HasSubstr("berth assign billing"));
}

TEST(Audit, UnownedSocketsAreAuditedNotDropped) {
  Host h;
  h.Listen(Protocol::kTcp, 45000, -1);
  auto f = h.Audit();
  const Finding* e = Find(f, "ephemeral-listener");
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->subject, HasSubstr("no visible process"));
  h.snap().owners_resolved = false;
  auto f2 = h.Audit();
  const Finding* e2 = Find(f2, "ephemeral-listener");
  ASSERT_NE(e2, nullptr);
  EXPECT_THAT(e2->subject, HasSubstr("--no-procs"));
}

TEST(Audit, SmallRangeAndRangeSuggestion) {
  Host h;
  h.snap().config.ephemeral = PortRange{40000, 45000};
  h.Listen(Protocol::kTcp, 44000, h.Process("a", 1));
  auto f = h.Audit();
  const Finding* small = Find(f, "ephemeral-range-small");
  ASSERT_NE(small, nullptr);
  EXPECT_THAT(small->why, HasSubstr("5001 ports"));
  const Finding* overlap = Find(f, "range-overlaps-listeners");
  ASSERT_NE(overlap, nullptr);
  EXPECT_THAT(overlap->fix, HasSubstr("no part of the range free of servers is 10,000"));

  Host wide;
  wide.Listen(Protocol::kTcp, 33000, wide.Process("a", 1));
  auto wf = wide.Audit();
  const Finding* o = Find(wf, "range-overlaps-listeners");
  ASSERT_NE(o, nullptr);
  // Different parity at the two ends, as the kernel's documentation asks.
  EXPECT_THAT(o->fix, HasSubstr("ip_local_port_range=\"33001 60998\""));
}

TEST(Audit, DynamicRangeOutsideTheHostRangeIsInfo) {
  Host h;
  h.Listen(Protocol::kTcp, 62000, h.Process("a", 1));
  auto f = h.Audit();
  const Finding* d = Find(f, "dynamic-range-listener");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->severity, Severity::kInfo);
  // FreeBSD's range is 10000-65535, not IANA's 49152-65535.
  EXPECT_THAT(d->why, HasSubstr("inside FreeBSD's 10000-65535"));
  EXPECT_THAT(d->why, Not(HasSubstr("macOS and FreeBSD")));
  EXPECT_EQ(Find(f, "ephemeral-listener"), nullptr);
}

TEST(Audit, FindingsAreSortedMostSevereFirst) {
  Host h;
  h.Listen(Protocol::kTcp, 3306, h.Process("python3", 1));
  h.Listen(Protocol::kTcp, 40000, h.Process("b", 2));
  auto f = h.Audit();
  ASSERT_GE(f.size(), 2u);
  for (std::size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i - 1].severity, f[i].severity);
}

TEST(CommandMatchesService, Heuristics) {
  EXPECT_TRUE(CommandMatchesService("sshd", "ssh"));
  EXPECT_TRUE(CommandMatchesService("redis-server", "redis"));
  EXPECT_TRUE(CommandMatchesService("nginx", "https"));
  EXPECT_TRUE(CommandMatchesService("rpcbind", "sunrpc"));
  EXPECT_TRUE(CommandMatchesService("mariadb", "mysql"));  // Debian's mariadb.socket, image mariadb
  EXPECT_FALSE(CommandMatchesService("python3", "mysql"));
  EXPECT_FALSE(CommandMatchesService("java", "http"));
  EXPECT_FALSE(CommandMatchesService("", "ssh"));
}

TEST(Audit, SqlServerIsNotSaidToMoveOnEveryRestart) {
  Host h;
  h.Listen(Protocol::kTcp, 50123, h.Process("sqlservr", 7));
  auto f = h.Audit();
  const Finding* m = Find(f, "mapped-service");
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->why, HasSubstr("keeps its last dynamic port across restarts"));
  EXPECT_THAT(m->why, Not(HasSubstr("every restart")));
}

TEST(Audit, EveryNfsPortBerthRecommendsIsOneTheAllocatorTakesWithoutAllowIana) {
  for (const NfsDaemon& d : NfsDaemons()) {
    if (d.iana_port) continue;
    EXPECT_FALSE(IanaAssigned(d.port, Protocol::kTcp)) << d.section << " " << d.port;
    EXPECT_FALSE(IanaAssigned(d.port, Protocol::kUdp)) << d.section << " " << d.port;
    EXPECT_LT(d.port, kLinuxEphemeralRange.low) << d.section;
  }
}

}  // namespace
}  // namespace berth
