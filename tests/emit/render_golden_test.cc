// Golden tests for the scan and probe renderers: the exact bytes they printed before the
// table helper replaced their hand-written aligners (tests/fixtures/emit/*.golden). Set
// BERTH_UPDATE_GOLDEN=1 to rewrite the files from the current code (then review the diff).
#include <cstdlib>
#include <functional>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "emit/render_util.h"
#include "emit/probe_render.h"
#include "emit/scan_render.h"

namespace berth {
namespace {

std::string Golden(const std::string& name, const std::string& got) {
  const std::string path = std::string(BERTH_FIXTURES) + "/emit/" + name;
  if (std::getenv("BERTH_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << got;
    return got;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

IpAddress V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress ip;
  ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
  return ip;
}

IpAddress V6Loopback() {
  IpAddress ip;
  ip.family = 6;
  ip.bytes[15] = 1;
  return ip;
}

HostSnapshot Snapshot() {
  HostSnapshot snap;
  snap.hostname = "box1";
  snap.config.reserved = *PortSet::Parse("5000,8080");
  snap.owners_resolved = true;
  snap.warnings = {"cannot read /proc/77/fd: permission denied"};
  auto sock = [&](Protocol p, SocketState st, IpAddress local, Port port) {
    SocketRecord s;
    s.proto = p, s.state = st, s.local_port = port;
    s.local = snap.addresses.Intern(local);
    snap.sockets.push_back(s);
  };
  sock(Protocol::kTcp, SocketState::kListen, V4(0, 0, 0, 0), 22);
  sock(Protocol::kTcp, SocketState::kListen, V4(127, 0, 0, 1), 5432);
  sock(Protocol::kTcp, SocketState::kListen, V6Loopback(), 40000);
  sock(Protocol::kUdp, SocketState::kClose, V4(0, 0, 0, 0), 53);
  sock(Protocol::kTcp, SocketState::kEstablished, V4(10, 0, 0, 2), 41000);
  snap.sockets.back().remote = snap.addresses.Intern(V4(10, 0, 0, 9));
  snap.sockets.back().remote_port = 443;
  snap.SetInterface(snap.sockets[3], 2);
  snap.interfaces[0].second = "eth0";
  snap.processes = {{812, 0, "root", "sshd", "ssh.service", ""},
                    {900, 105, "postgres", "postgres", "", "0123456789abcdef0123"},
                    {901, 105, "postgres", "postgres-wal", "", ""}};
  snap.owners = {{0, 0, 3}, {1, 1, 5}, {1, 2, 6}, {2, 1, 7}, {4, 0, 9}};
  return snap;
}

std::vector<Finding> Findings() {
  Finding a;
  a.id = FindingId::kEphemeralListener;
  a.severity = Severity::kWarning;
  a.subject = "postgres (pid 900)";
  a.proto = Protocol::kTcp;
  a.ports = *PortSet::Parse("40000");
  a.pids = {900};
  a.why = "40000 is inside the ephemeral range 32768-60999";
  a.fix = "berth reserve 40000\nsysctl -w net.ipv4.ip_local_reserved_ports=40000";
  Finding b;
  b.id = FindingId::kUnreservedEphemeralPorts;
  b.severity = Severity::kError;
  b.subject = "host";
  b.ports = *PortSet::Parse("1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,45");
  b.why = "too many";
  b.fix = "close some";
  Finding c;
  c.id = FindingId::kIanaMismatch;
  c.severity = Severity::kInfo;
  c.subject = "sshd (pid 812)";
  c.why = "just so you know";
  return {a, b, c};
}

PressureReport Pressure() {
  PressureReport p;
  p.usable = 28230;
  for (int i = 0; i < 22; ++i) {
    PressureRow r;
    r.source = V4(10, 0, 0, 2);
    r.destination = V4(10, 0, 1, static_cast<std::uint8_t>(i));
    r.destination_port = static_cast<Port>(443 + i);
    r.sockets = static_cast<std::uint32_t>(25000 - i * 1200);
    r.time_wait = static_cast<std::uint32_t>(i * 7);
    r.share = r.sockets / 28230.0;
    p.rows.push_back(r);
  }
  return p;
}

using test::Collect;

TEST(RenderGolden, ScanTextServers) {
  const HostSnapshot snap = Snapshot();
  const std::vector<Finding> findings = Findings();
  ScanView v;
  v.snap = &snap;
  v.findings = &findings;
  const std::string got = Collect([&](const Sink& s) { RenderScanText(v, false, s); });
  EXPECT_EQ(got, Golden("scan_servers.golden", got));
}

TEST(RenderGolden, ScanTextAllStatesColourRegistryPressure) {
  HostSnapshot snap = Snapshot();
  snap.partial = true;
  const std::vector<Finding> findings = Findings();
  const PressureReport pressure = Pressure();
  std::vector<std::optional<RegistryMark>> marks(snap.sockets.size());
  marks[0] = RegistryMark{registry::RegStatus::kRegistered, "ssh"};
  marks[1] = RegistryMark{registry::RegStatus::kDrifted, "pg"};
  marks[2] = RegistryMark{registry::RegStatus::kUnregistered, ""};
  ScanView v;
  v.snap = &snap;
  v.findings = &findings;
  v.pressure = &pressure;
  v.all_states = true;
  v.registry = &marks;
  for (bool color : {false, true}) {
    const std::string got = Collect([&](const Sink& s) { RenderScanText(v, color, s); });
    const std::string name = color ? "scan_all_colour.golden" : "scan_all.golden";
    EXPECT_EQ(got, Golden(name, got)) << name;
  }
  const std::string as_json = Collect([&](const Sink& s) { RenderScanJson(v, s); });
  EXPECT_EQ(as_json, Golden("scan_all.json.golden", as_json));
}

TEST(RenderGolden, ScanTextEmpty) {
  HostSnapshot snap;
  snap.hostname = "empty";
  PressureReport pressure;
  const std::vector<Finding> none;
  ScanView v;
  v.snap = &snap;
  v.findings = &none;
  v.pressure = &pressure;
  const std::string got = Collect([&](const Sink& s) { RenderScanText(v, false, s); });
  EXPECT_EQ(got, Golden("scan_empty.golden", got));
}

// berth pressure prints its own name; it used to say "berth scan".
TEST(RenderGolden, PressureHeaderNamesPressure) {
  HostSnapshot snap;
  snap.hostname = "h";
  PressureReport pressure;
  const std::vector<Finding> none;
  ScanView v;
  v.snap = &snap;
  v.findings = &none;
  v.pressure = &pressure;
  v.sockets = false;
  v.command = "pressure";
  const std::string got = Collect([&](const Sink& s) { RenderScanText(v, false, s); });
  EXPECT_TRUE(got.starts_with("berth pressure  h  netns")) << got;
}

std::vector<probe::HostReport> Hosts() {
  using namespace probe;
  HostReport a;
  a.target = "nfs1";
  a.address = "10.0.0.5";
  a.mappers = {{Mapper::kRpc, MapperState::kAnswered, "rpcbind v4"},
               {Mapper::kSsrp, MapperState::kSilent, ""}};
  probe::ServiceRecord s1;
  s1.mapper = Mapper::kRpc, s1.name = "mountd", s1.program = 100005, s1.version = 3;
  s1.netid = "tcp", s1.port = 20048, s1.dynamic = true, s1.answers = true;
  s1.static_port = StaticPort{"nfs.mountd", ServiceProto::kTcp, 20048, false, "hash"};
  probe::ServiceRecord s2;
  s2.mapper = Mapper::kRpc, s2.name = "nfs", s2.program = 100003, s2.version = 4;
  s2.netid = "udp", s2.port = 2049, s2.transport = Protocol::kUdp;
  a.services = {s1, s2};
  HostReport b;
  b.target = "10.0.0.7";
  b.address = "10.0.0.7";
  b.broadcast = "10.0.0.255";
  b.interface = "eth0";
  b.mappers = {{Mapper::kSsrp, MapperState::kAnswered, "1 instance"}};
  probe::ServiceRecord s3;
  s3.mapper = Mapper::kSsrp, s3.instance = "SQLEXPRESS", s3.sql_version = "16.0.1000.6";
  s3.server_name = "WIN1", s3.port = 49731, s3.dynamic = true, s3.transport = Protocol::kTcp;
  probe::ServiceRecord s4;
  s4.mapper = Mapper::kEpm, s4.interface_uuid = "12345778-1234-abcd-ef00-0123456789ab";
  s4.interface_version = "1.0", s4.annotation = "lsa", s4.netid = "ncacn_np";
  s4.endpoint = "\\pipe\\lsass";
  b.services = {s3, s4};
  return {a, b};
}

TEST(RenderGolden, ProbeTextAndJson) {
  const auto hosts = Hosts();
  probe::ProbeSummary sum{3, 1, 1.25, std::nullopt};  // no timing: the golden predates it
  const std::string text = Collect([&](const Sink& s) { probe::RenderProbeText(hosts, sum, s); });
  EXPECT_EQ(text, Golden("probe.golden", text));
  const std::string as_json = Collect([&](const Sink& s) { probe::RenderProbeJson(hosts, sum, s); });
  EXPECT_EQ(as_json, Golden("probe.json.golden", as_json));
}

TEST(RenderGolden, ProbeJsonTiming) {
  probe::ProbeSummary sum{3, 1, 1.25, probe::ProbeTiming{true, 1000, 14, 14, 100, 100, 30, 1.5, 0.25, 3.0}};
  const std::string as_json = Collect([&](const Sink& s) { probe::RenderProbeJson(Hosts(), sum, s); });
  const auto t = nlohmann::json::parse(as_json)["summary"]["timing"];
  EXPECT_EQ(t, nlohmann::json::parse(R"({"adaptive": true, "timeout_ms": 1000, "timeouts": 14, "shortened": 14,
      "shortest_wait_ms": 100, "longest_wait_ms": 100, "rtt_samples": 30, "srtt_ms": 1.5, "rttvar_ms": 0.25,
      "max_rtt_ms": 3.0})")) << as_json;
}

}  // namespace
}  // namespace berth
