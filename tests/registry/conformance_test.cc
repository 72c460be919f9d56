#include "registry/conformance.h"

#include <gtest/gtest.h>

#include "registry/plan.h"

namespace berth::registry {
namespace {

Service Svc(std::string name, Port port, ServiceProto proto = ServiceProto::kTcp) {
  Service s;
  s.name = std::move(name);
  s.port = port;
  s.proto = proto;
  return s;
}

// A snapshot with one server socket per (proto, port, command).
HostSnapshot Snap(std::vector<std::tuple<Protocol, Port, std::string>> servers) {
  HostSnapshot snap;
  snap.hostname = "h";
  snap.config.ephemeral = {32768, 60999};
  for (auto& [proto, port, command] : servers) {
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    s.local_port = port;
    const auto i = static_cast<std::uint32_t>(snap.sockets.size());
    snap.sockets.push_back(s);
    ProcessInfo proc;
    proc.pid = 100 + static_cast<int>(i);
    proc.command = command;
    snap.processes.push_back(proc);
    snap.owners.push_back(SocketOwner{i, i, 3});
  }
  snap.owners_resolved = true;
  return snap;
}

// One process (`command`, `pid`) holding a server socket on each (protocol, port).
HostSnapshot OneProcess(const std::string& command, int pid,
                        const std::vector<std::pair<Protocol, Port>>& servers) {
  HostSnapshot snap;
  snap.hostname = "h";
  snap.config.ephemeral = {32768, 60999};
  snap.owners_resolved = true;
  ProcessInfo proc;
  proc.pid = pid;
  proc.command = command;
  snap.processes.push_back(proc);
  for (auto [proto, port] : servers) {
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    s.local_port = port;
    snap.owners.push_back(SocketOwner{static_cast<std::uint32_t>(snap.sockets.size()), 0, 3});
    snap.sockets.push_back(s);
  }
  return snap;
}

std::vector<std::string> Ids(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.emplace_back(FindingIdName(f.id));
  return out;
}

TEST(RegistryReserve, MergeNeverDropsAnEntry) {
  const PortSet current{{100, 200}, {40000, 40000}};
  const PortSet merged = MergeReserved(current, {Svc("a", 5000, ServiceProto::kBoth), Svc("b", 150)});
  EXPECT_EQ(merged.Intersect(current), current);
  EXPECT_TRUE(merged.contains(5000));
  EXPECT_EQ(merged.count(), current.count() + 1);
  EXPECT_NE(SysctlFile(merged).find("net.ipv4.ip_local_reserved_ports = " + merged.Format()),
            std::string::npos);
}

TEST(RegistryCheck, ReportsEachRule) {
  HostSnapshot snap = Snap({{Protocol::kTcp, 5000, "app"}, {Protocol::kTcp, 40000, "eph"},
                            {Protocol::kTcp, 22, "sshd"}, {Protocol::kTcp, 7000, "stray"}});
  snap.config.reserved = PortSet{{5000, 5000}};
  const std::vector<Service> services = {Svc("app", 5000), Svc("eph", 40000), Svc("gone", 6000)};
  auto findings = CheckHost(snap, services, PortSet{{22, 22}});
  EXPECT_EQ(Ids(findings), (std::vector<std::string>{"registered-port-ephemeral",
                                                     "registered-not-listening",
                                                     "unregistered-listener"}));
  for (const auto& f : findings) {
    if (f.id == FindingId::kUnregisteredListener) {
      EXPECT_EQ(f.subject, "stray (pid 103)");  // sshd is allowed
    }
    if (f.id == FindingId::kRegisteredPortEphemeral) {
      EXPECT_EQ(f.subject, "eph (40000/tcp)");
      EXPECT_EQ(f.severity, Severity::kError) << "not reserved: a connection can take it";
      EXPECT_NE(f.fix.find("berth reserve --apply"), std::string::npos) << f.fix;
    }
  }
  // Reserving a port below the ephemeral range means nothing: nothing is said about it.
  EXPECT_TRUE(CheckHost(Snap({{Protocol::kTcp, 5000, "app"}}), {Svc("app", 5000)}, {}).empty());
}

TEST(RegistryCheck, AReservedPortInTheRangeIsAWarningThatSaysMove) {
  HostSnapshot snap = Snap({{Protocol::kTcp, 40000, "eph"}});
  snap.config.reserved = PortSet{{40000, 40000}};
  auto findings = CheckHost(snap, {Svc("eph", 40000)}, {});
  ASSERT_EQ(findings.size(), 1u) << ::testing::PrintToString(Ids(findings));
  EXPECT_EQ(findings[0].id, FindingId::kRegisteredPortEphemeral);
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_EQ(findings[0].fix.find("berth reserve"), std::string::npos) << findings[0].fix;
}

TEST(RegistryCheck, OneFindingPerServiceAndKindForABothService) {
  // db is registered over both protocols; only TCP listens, and its port is in the range.
  HostSnapshot snap = Snap({{Protocol::kTcp, 40010, "db"}});
  auto findings = CheckHost(snap, {Svc("db", 40010, ServiceProto::kBoth)}, {});
  EXPECT_EQ(Ids(findings), (std::vector<std::string>{"registered-port-ephemeral",
                                                     "registered-not-listening"}));
  for (const auto& f : findings) {
    EXPECT_EQ(f.subject, "db (40010/both)");
    if (f.id == FindingId::kRegisteredNotListening) {
      ASSERT_TRUE(f.proto.has_value());
      EXPECT_EQ(*f.proto, Protocol::kUdp);  // the silent side, named
      EXPECT_NE(f.why.find("40010/udp"), std::string::npos) << f.why;
    }
  }
}

// One process on several unregistered ports: one finding with all of them, one command per
// line in the fix, the ports outside the registrable range allowed in one command.
TEST(RegistryCheck, UnregisteredListenersAreOneFindingPerProcessAndProtocol) {
  const HostSnapshot snap = OneProcess(
      "app", 42,
      {{Protocol::kTcp, 80}, {Protocol::kTcp, 20101}, {Protocol::kTcp, 20102},
       {Protocol::kTcp, 20103}, {Protocol::kTcp, 20104}, {Protocol::kTcp, 20105},
       {Protocol::kTcp, 20106}, {Protocol::kTcp, 20107}, {Protocol::kUdp, 20101}});
  auto findings = CheckHost(snap, {Svc("other", 7000)}, {}, PortRange{1024, 49151});
  std::vector<const Finding*> unreg;
  for (const auto& f : findings) {
    if (f.id == FindingId::kUnregisteredListener) unreg.push_back(&f);
  }
  ASSERT_EQ(unreg.size(), 2u) << ::testing::PrintToString(Ids(findings));
  const Finding& tcp = *unreg[0];
  ASSERT_TRUE(tcp.proto.has_value());
  EXPECT_EQ(*tcp.proto, Protocol::kTcp);
  EXPECT_EQ(tcp.subject, "app (pid 42)");
  EXPECT_EQ(tcp.ports.Format(), "80,20101-20107");
  EXPECT_NE(tcp.why.find("8 tcp ports"), std::string::npos) << tcp.why;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at <= tcp.fix.size();) {
    const std::size_t nl = std::min(tcp.fix.find('\n', at), tcp.fix.size());
    lines.push_back(tcp.fix.substr(at, nl - at));
    at = nl + 1;
  }
  ASSERT_EQ(lines.size(), 8u) << tcp.fix;
  EXPECT_EQ(lines[0], "berth adopt app-20101 --port 20101 --proto tcp");
  EXPECT_EQ(lines[4], "berth adopt app-20105 --port 20105 --proto tcp");
  EXPECT_EQ(lines[5], "berth group add default --allow 80");
  EXPECT_EQ(lines[6], "(and 2 more ports, each adopted the same way: 20106-20107)");
  EXPECT_EQ(lines[7], "or accept for this check only: berth check --allow 80,20101-20107");
  EXPECT_EQ(unreg[1]->ports.Format(), "20101");
  ASSERT_TRUE(unreg[1]->proto.has_value());
  EXPECT_EQ(*unreg[1]->proto, Protocol::kUdp);
}

// An allowed port is accepted: it appears nowhere in the process's finding, not in its ports,
// its why, nor its fix (the allow list is applied before the grouping, not after).
TEST(RegistryMatchScan, AllowedPortsAreLeftOutOfTheGroupedFinding) {
  const HostSnapshot snap =
      OneProcess("app", 9, {{Protocol::kTcp, 22}, {Protocol::kTcp, 80}, {Protocol::kTcp, 20101}});
  ScanMatch m = MatchScan(snap, {Svc("other", 7000)}, {}, PortRange{1024, 49151}, PortSet{{22, 22}});
  ASSERT_EQ(Ids(m.findings), std::vector<std::string>{"unregistered-listener"});
  const Finding& f = m.findings[0];
  EXPECT_EQ(f.ports.Format(), "80,20101");
  EXPECT_EQ(f.why.find("22"), std::string::npos) << f.why;
  EXPECT_EQ(f.fix, "berth adopt app-20101 --port 20101 --proto tcp\nberth group add default --allow 80");
  // Everything allowed: no finding at all.
  EXPECT_TRUE(MatchScan(snap, {Svc("other", 7000)}, {}, PortRange{1024, 49151},
                        PortSet{{22, 22}, {80, 80}, {20101, 20101}})
                  .findings.empty());
}

TEST(RegistryRange, SaysWhatWouldBreak) {
  HostSnapshot snap = Snap({{Protocol::kTcp, 20000, "legacy"}, {Protocol::kTcp, 9000, "low"}});
  snap.config.reserved = PortSet{{25000, 25000}};
  auto findings = CheckRange({15000, 60999}, snap, {Svc("a", 16000), Svc("b", 25000), Svc("c", 9000)});
  auto ids = Ids(findings);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "range-covers-registered"), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "range-covers-listener"), 1);
  for (const auto& f : findings) {
    if (f.subject.starts_with("a ")) {
      EXPECT_EQ(f.severity, Severity::kError);
    }
    if (f.subject.starts_with("b ")) {
      EXPECT_EQ(f.severity, Severity::kWarning);
    }
  }
  EXPECT_TRUE(CheckRange({61000, 65000}, snap, {Svc("a", 16000)}).empty());
  EXPECT_EQ(Ids(CheckRange({500, 600}, snap, {})), std::vector<std::string>{"range-invalid"});
}

TEST(RegistryMatchScan, RegisteredUnregisteredDriftedAndPortChanged) {
  const std::vector<Service> services = {Svc("web", 8000), Svc("api", 9000), Svc("redis", 6379)};
  // Previous scan: api (command "apid") on its port; "batch" on 45000.
  const std::vector<Observation> previous = {
      {"h", "api", Protocol::kTcp, 9000, 1, "apid", 0, 0},
      {"h", "", Protocol::kTcp, 45000, 2, "batch", 0, 0}};
  // Now: web on its port, apid moved to 9100, batch moved to 45123, redis on 6380, a stranger.
  HostSnapshot snap = Snap({{Protocol::kTcp, 8000, "nginx"}, {Protocol::kTcp, 9100, "apid"},
                            {Protocol::kTcp, 45123, "batch"}, {Protocol::kTcp, 6380, "redis"},
                            {Protocol::kTcp, 7777, "stranger"}});
  ScanMatch m = MatchScan(snap, services, previous);
  ASSERT_EQ(m.sockets.size(), 5u);
  EXPECT_EQ(m.sockets[0]->status, RegStatus::kRegistered);
  EXPECT_EQ(m.sockets[0]->service, "web");
  EXPECT_EQ(m.sockets[1]->status, RegStatus::kDrifted);
  EXPECT_EQ(m.sockets[1]->service, "api");
  EXPECT_EQ(m.sockets[2]->status, RegStatus::kUnregistered);
  EXPECT_EQ(m.sockets[3]->status, RegStatus::kDrifted);  // command = first label of the name
  EXPECT_EQ(m.sockets[3]->service, "redis");
  EXPECT_EQ(m.sockets[4]->status, RegStatus::kUnregistered);
  auto ids = Ids(m.findings);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "drifted-service"), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "unregistered-listener"), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "port-changed"), 2);  // apid and batch
  EXPECT_EQ(m.observations.size(), 5u);
  EXPECT_EQ(m.observations[1].service, "api");
  // A process that holds a service's port over one protocol runs that service: its other
  // sockets are not the service drifted (db is on 5432/tcp; 5353/udp is something else).
  const std::vector<Service> db = {Svc("db", 5432, ServiceProto::kBoth)};
  const std::vector<Observation> seen = {{"h", "db", Protocol::kTcp, 5432, 1, "python3", 0, 0}};
  const HostSnapshot both =
      OneProcess("python3", 7, {{Protocol::kTcp, 5432}, {Protocol::kUdp, 5353}});
  ScanMatch held = MatchScan(both, db, seen);
  ASSERT_EQ(held.sockets.size(), 2u);
  ASSERT_TRUE(held.sockets[1].has_value());
  EXPECT_EQ(held.sockets[1]->status, RegStatus::kUnregistered);
  EXPECT_EQ(Ids(held.findings), std::vector<std::string>{"unregistered-listener"});

  // Nothing moved: no port-changed.
  ScanMatch same = MatchScan(Snap({{Protocol::kTcp, 9000, "apid"}}), services, previous);
  EXPECT_EQ(Ids(same.findings), std::vector<std::string>{});
}

TEST(RegistryPlan, DiffAndPortResolution) {
  RegistryDoc current;
  current.services = {Svc("a", 5000), Svc("b", 5001), Svc("c", 5002)};
  RegistryDoc desired;
  Service b = Svc("b", 5001);
  b.owner = "ops";
  desired.services = {Svc("a", 0), b, Svc("d", 0)};
  HostView host;
  host.config.ephemeral = {32768, 60999};
  auto resolved = ResolvePorts(desired, current, host);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->services[0].port, 5000);  // a keeps its port
  EXPECT_NE(resolved->services[2].port, 0);     // d allocated
  EXPECT_NE(resolved->services[2].port, 5000);
  auto changes = Diff(current, *resolved);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind, Change::Kind::kChange);  // b: owner
  EXPECT_EQ(changes[0].name, "b");
  EXPECT_EQ(changes[1].kind, Change::Kind::kAdd);  // d
  EXPECT_EQ(changes[2].kind, Change::Kind::kRemove);  // c
  EXPECT_NE(FormatChanges(changes).find("1 to add, 1 to change, 1 to remove"), std::string::npos);
  EXPECT_TRUE(Diff(*resolved, *resolved).empty());
  // Same names, same allocation.
  EXPECT_EQ(ResolvePorts(desired, current, host)->services[2].port, resolved->services[2].port);
}

}  // namespace
}  // namespace berth::registry

namespace berth::registry {
namespace {

// A range claim (rpc.dynamic, 32000-32999, reaching into the ephemeral range 32768-60999):
// check names the ports inside the range, an idle block is not "not listening", a listener
// anywhere in the block is the service's, range and reserve take the whole block, and a
// declared range is warned of by the ports that break the rule.
TEST(RegistryCheck, ARangeClaimIsCheckedByEveryPortOfItsBlock) {
  Service rpc = Svc("rpc.dynamic", 32000);
  rpc.size = 1000;
  HostSnapshot snap = Snap({{Protocol::kTcp, 32500, "svchost"}, {Protocol::kTcp, 33000, "other"}});
  snap.config.reserved = PortSet{{32768, 32800}};
  auto findings = CheckHost(snap, {rpc}, {});
  ASSERT_EQ(Ids(findings), (std::vector<std::string>{"registered-port-ephemeral", "unregistered-listener"}));
  EXPECT_EQ(findings[0].subject, "rpc.dynamic (32000-32999/tcp)");
  EXPECT_EQ(findings[0].ports.Format(), "32768-32999");
  EXPECT_EQ(findings[0].severity, Severity::kError);  // 32801-32999 are not reserved
  EXPECT_NE(findings[0].why.find("32801-32999"), std::string::npos) << findings[0].why;
  EXPECT_NE(findings[1].subject.find("other"), std::string::npos) << findings[1].subject;  // 33000: outside

  ScanMatch m = MatchScan(snap, {rpc}, {});
  ASSERT_EQ(m.sockets.size(), 2u);
  EXPECT_EQ(m.sockets[0]->status, RegStatus::kRegistered);
  EXPECT_EQ(m.sockets[0]->service, "rpc.dynamic");
  EXPECT_EQ(m.sockets[1]->status, RegStatus::kUnregistered);

  auto range = CheckRange({32900, 60999}, Snap({}), {rpc});
  ASSERT_EQ(range.size(), 1u);
  EXPECT_EQ(range[0].ports.Format(), "32900-32999");
  EXPECT_TRUE(MergeReserved({}, {rpc}).contains(32999));
  EXPECT_EQ(MergeReserved({}, {rpc}).count(), 1000u);

  RegistryDoc desired;
  desired.services = {rpc};
  HostView host;
  host.config.ephemeral = {32768, 60999};
  auto warnings = PolicyWarnings(desired, Diff({}, desired), host);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("232 ports of the range (32768-32999) break this rule"), std::string::npos)
      << warnings[0];
}

TEST(RegistryPlan, DeclaredPortsInsideTheEphemeralRangeAreWarned) {
  RegistryDoc desired;
  desired.services = {Svc("ok", 20000), Svc("eph", 40000), Svc("low", 80)};
  HostView host;
  host.config.ephemeral = {32768, 60999};
  auto warnings = PolicyWarnings(desired, Diff({}, desired), host);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("service eph: 40000 is inside this host's ip_local_port_range"),
            std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("service low: 80 is outside"), std::string::npos) << warnings[1];
  EXPECT_TRUE(PolicyWarnings(desired, {}, host).empty());  // unchanged services are not re-judged
}

// A berth.toml entry on a port other products use by convention draws berth assign --port's
// warning (docs/registry.md); the product itself is at home there.
TEST(RegistryPlan, AConventionalPortOfAnotherProductIsWarned) {
  RegistryDoc desired;
  Service block = Svc("metrics.block", 9089);
  block.size = 4;  // 9089-9092: Prometheus' and Cockpit's 9090, Pushgateway's 9091, Kafka's 9092
  desired.services = {Svc("billing", 15672), Svc("prometheus", 9090), block};
  HostView host;
  host.config.ephemeral = {32768, 60999};
  auto warnings = PolicyWarnings(desired, Diff({}, desired), host);
  ASSERT_EQ(warnings.size(), 4u) << ::testing::PrintToString(warnings);
  EXPECT_EQ(warnings[0].find("service billing: 15672/tcp is where RabbitMQ (management UI and API) "
                             "listens by convention"), 0u) << warnings[0];
  EXPECT_EQ(warnings[1].find("service metrics.block: 9090/tcp is where Prometheus"), 0u) << warnings[1];
  EXPECT_EQ(warnings[2].find("service metrics.block: 9091/tcp is where Prometheus Pushgateway"), 0u)
      << warnings[2];
  EXPECT_EQ(warnings[3].find("service metrics.block: 9092/tcp is where Apache Kafka"), 0u) << warnings[3];
  EXPECT_TRUE(PolicyWarnings(desired, {}, host).empty());
}

}  // namespace
}  // namespace berth::registry
