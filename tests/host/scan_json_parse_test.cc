#include "host/scan_json_parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "emit/scan_render.h"

namespace berth {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

IpAddress Ip(std::uint8_t family, std::initializer_list<std::uint8_t> bytes) {
  IpAddress a;
  a.family = family;
  std::copy(bytes.begin(), bytes.end(), a.bytes.begin());
  return a;
}

// A snapshot with one of everything the schema carries.
HostSnapshot Sample() {
  HostSnapshot s;
  s.hostname = "web1";
  s.netns = "blue";
  s.config.ephemeral = {40000, 50000};
  s.config.reserved = PortSet{{40010, 40010}, {45000, 45010}};
  s.config.unprivileged_port_start = 80;
  s.config.tcp_tw_reuse = 1;
  SocketRecord ssh;
  s.SetAddresses(ssh, Ip(4, {0, 0, 0, 0}), Ip(4, {}));
  ssh.local_port = 22;
  ssh.inode = 1001;
  ssh.wqueue = 128;
  SocketRecord ssh6 = ssh;
  s.SetAddresses(ssh6, Ip(6, {}), Ip(6, {}));
  ssh6.v6only = true;
  ssh6.inode = 1002;
  s.SetInterface(ssh6, 7);
  SocketRecord estab = ssh;
  estab.state = SocketState::kEstablished;
  s.SetAddresses(estab, Ip(4, {10, 0, 0, 1}), Ip(4, {10, 0, 0, 9}));
  estab.remote_port = 51000;
  estab.inode = 1003;
  s.SetUid(estab, 1000);
  estab.rqueue = 5;
  SocketRecord dns;
  dns.proto = Protocol::kUdp;
  dns.state = SocketState::kClose;
  s.SetAddresses(dns, Ip(6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), Ip(6, {}));
  dns.local_port = 53;
  dns.inode = 2001;
  s.SetUid(dns, 65534);
  s.sockets = {ssh, ssh6, estab, dns};
  s.interfaces[0].second = "eth0";
  s.processes = {{812, 0, "root", "sshd", "ssh.service", ""},
                 {950, 65534, "nobody", "dnsmasq", "", std::string(64, 'a')}};
  s.owners = {{0, 0, 3}, {1, 0, 4}, {3, 1, 5}, {3, 1, 6}};
  s.owners_resolved = true;
  s.partial = true;
  s.warnings = {"something could not be read"};
  return s;
}

std::string Render(const HostSnapshot& snap, bool all_states = true) {
  ScanView view;
  view.snap = &snap;
  view.all_states = all_states;
  std::string out;
  RenderScanJson(view, [&](std::string_view chunk) { out += chunk; });
  return out;
}

// Addresses by value: two snapshots number them each in their own table.
auto SocketKey(const HostSnapshot& snap, const SocketRecord& s) {
  return std::make_tuple(s.proto, s.state, static_cast<bool>(s.v6only), snap.Local(s), snap.Remote(s),
                         s.local_port, s.remote_port, snap.Uid(s), s.inode, s.rqueue, s.wqueue);
}

TEST(ScanJsonParse, RoundTripsWhatTheRendererWrites) {
  const HostSnapshot want = Sample();
  ScanJsonInfo info;
  auto got = ParseScanJson(Render(want), "scan.json", &info);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(info.all_states);
  EXPECT_EQ(got->hostname, "web1");
  EXPECT_EQ(got->netns, "blue");
  EXPECT_EQ(got->config.ephemeral, want.config.ephemeral);
  EXPECT_EQ(got->config.reserved, want.config.reserved);
  EXPECT_EQ(got->config.unprivileged_port_start, 80);
  EXPECT_EQ(got->config.tcp_tw_reuse, 1);
  ASSERT_EQ(got->sockets.size(), want.sockets.size());
  for (std::size_t i = 0; i < want.sockets.size(); ++i) {
    EXPECT_TRUE(SocketKey(*got, got->sockets[i]) == SocketKey(want, want.sockets[i])) << "socket " << i;
  }
  EXPECT_EQ(got->InterfaceName(got->sockets[1]), "eth0");
  EXPECT_FALSE(got->HasInterface(got->sockets[0]));
  ASSERT_EQ(got->processes.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const ProcessInfo& a = got->processes[i];
    const ProcessInfo& b = want.processes[i];
    EXPECT_EQ(std::tie(a.pid, a.uid, a.user, a.command, a.unit, a.container),
              std::tie(b.pid, b.uid, b.user, b.command, b.unit, b.container));
  }
  ASSERT_EQ(got->owners.size(), want.owners.size());
  for (std::size_t i = 0; i < want.owners.size(); ++i) {
    EXPECT_EQ(got->owners[i].socket, want.owners[i].socket);
    EXPECT_EQ(got->owners[i].process, want.owners[i].process);
    EXPECT_EQ(got->owners[i].fd, want.owners[i].fd);
  }
  EXPECT_TRUE(got->owners_resolved);
  EXPECT_TRUE(got->partial);
  EXPECT_EQ(got->warnings, want.warnings);
}

TEST(ScanJsonParse, ServersOnlyDocumentSaysSo) {
  ScanJsonInfo info;
  auto got = ParseScanJson(Render(Sample(), false), "scan.json", &info);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_FALSE(info.all_states);
  EXPECT_EQ(got->sockets.size(), 3u);  // the ESTAB socket is not in the document
  EXPECT_EQ(got->owners.size(), 4u);
  EXPECT_EQ(got->owners.back().socket, 2u);  // re-indexed to the document's sockets
}

// Parses `doc` and expects a kMalformed error containing every `parts`.
void ExpectBad(const std::string& doc, std::initializer_list<std::string_view> parts) {
  auto got = ParseScanJson(doc, "rec.json");
  ASSERT_FALSE(got) << doc.substr(0, 200);
  EXPECT_EQ(got.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(got.error().message, HasSubstr("rec.json: "));
  for (std::string_view p : parts) EXPECT_THAT(got.error().message, HasSubstr(std::string(p)));
}

json SampleJson() { return json::parse(Render(Sample())); }

TEST(ScanJsonParse, WrongTypesNameTheField) {
  json doc = SampleJson();
  doc["sockets"][2]["port"] = "22";
  ExpectBad(doc.dump(), {"expected an integer", "(at sockets[2].port)"});
  doc = SampleJson();
  doc["sockets"][0]["owners"][0]["fd"] = -1;
  ExpectBad(doc.dump(), {"sockets[0].owners[0].fd"});
  doc = SampleJson();
  doc["host"]["ephemeral_range"] = json::array();
  ExpectBad(doc.dump(), {"expected an object", "host.ephemeral_range"});
  doc = SampleJson();
  doc["processes"][1]["unit"] = 5;
  ExpectBad(doc.dump(), {"expected a string or null", "processes[1].unit"});
  doc = SampleJson();
  doc["sockets"][0].erase("proto");
  ExpectBad(doc.dump(), {"missing field \"proto\"", "sockets[0]"});
  doc = SampleJson();
  doc["partial"] = "yes";
  ExpectBad(doc.dump(), {"expected true or false", "partial"});
}

TEST(ScanJsonParse, OutOfRangeValuesAreRefused) {
  json doc = SampleJson();
  doc["sockets"][0]["port"] = 65536;
  ExpectBad(doc.dump(), {"0-65535", "sockets[0].port"});
  std::string text = SampleJson().dump();
  const std::string uid = "\"uid\":0";
  text.replace(text.find(uid), uid.size(), "\"uid\":123456789012345678901234567890");
  ExpectBad(text, {"uid"});
  text = SampleJson().dump();
  text.replace(text.find(uid), uid.size(), "\"uid\":1e400");
  ExpectBad(text, {});
  doc = SampleJson();
  doc["sockets"][0]["state"] = "LISTENING";
  ExpectBad(doc.dump(), {"not a tcp socket state", "sockets[0].state"});
  doc = SampleJson();
  doc["sockets"][0]["address"] = "::1";  // an ipv4 socket
  ExpectBad(doc.dump(), {"not an IPv4 address", "sockets[0].address"});
  doc = SampleJson();
  doc["host"]["ephemeral_range"]["low"] = 60000;
  ExpectBad(doc.dump(), {"low 60000 > high 50000"});
  doc = SampleJson();
  doc["host"]["reserved_ports"] = "1-2-3";
  ExpectBad(doc.dump(), {"host.reserved_ports"});
}

TEST(ScanJsonParse, OwnersMustNameListedProcesses) {
  json doc = SampleJson();
  doc["sockets"][0]["owners"][0]["pid"] = 4242;
  ExpectBad(doc.dump(), {"pid 4242 is not in processes", "sockets[0].owners[0].pid"});
  doc = SampleJson();
  doc["processes"][1]["pid"] = 812;
  ExpectBad(doc.dump(), {"pid 812 is listed twice"});
}

// berth.scan/2 writes reserved_ports as [[low, high], ...]; a berth.scan/1 recording (a comma
// string) still reads, with the same result.
TEST(ScanJsonParse, ReservedPortsAsRangesAndTheFirstSchemaStillReads) {
  json doc = SampleJson();
  ASSERT_TRUE(doc["host"]["reserved_ports"].is_array()) << doc["host"].dump();
  auto v2 = ParseScanJson(doc.dump(), "v2.json");
  ASSERT_TRUE(v2) << v2.error().message;
  json v1 = doc;
  v1["schema"] = "berth.scan/1";
  v1["host"]["reserved_ports"] = v2->config.reserved.Format();
  auto old = ParseScanJson(v1.dump(), "v1.json");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->config.reserved, v2->config.reserved);
  doc["host"]["reserved_ports"] = json::parse("[[5000, 4000]]");
  ExpectBad(doc.dump(), {"host.reserved_ports[0]", "low 5000 > high 4000"});
  doc["host"]["reserved_ports"] = json::parse("[[1, 2, 3]]");
  ExpectBad(doc.dump(), {"host.reserved_ports[0]", "expected [low, high]"});
  doc["host"]["reserved_ports"] = "5000";  // a /1 string in a /2 document
  ExpectBad(doc.dump(), {"host.reserved_ports", "expected an array"});
}

TEST(ScanJsonParse, WrongSchemaNamesTheExpectedOne) {
  json doc = SampleJson();
  doc["schema"] = "berth.scan/3";
  ExpectBad(doc.dump(), {"not a berth.scan/2 document", "berth.scan/3"});
  doc.erase("schema");
  ExpectBad(doc.dump(), {"berth.scan/2", "no \"schema\""});
  ExpectBad("[1,2,3]", {"expected a berth.scan/2 object, got array"});
  ExpectBad("{\"schema\": 1}", {"berth.scan/2"});
}

TEST(ScanJsonParse, HostileTextIsRefusedWithoutACrash) {
  const std::string good = Render(Sample());
  ExpectBad(good.substr(0, good.size() / 2), {"not valid JSON"});  // truncated
  ExpectBad("", {"not valid JSON"});
  ExpectBad("\xEF\xBB\xBF" + good, {"byte order mark"});
  ExpectBad(std::string(100000, '[') + std::string(100000, ']'), {"nested deeper than 16"});
  ExpectBad("{\"a\":\"" + std::string(10, '\\') + "\"}", {});
  json doc = SampleJson();
  doc["host"]["hostname"] = std::string(10 << 20, 'x');  // 10 MB
  ExpectBad(doc.dump(), {"longer than 255", "host.hostname"});
  doc = SampleJson();
  doc["processes"][0]["command"] = std::string(10 << 20, 'y');
  ExpectBad(doc.dump(), {"longer than 4096", "processes[0].command"});
  ExpectBad("{\"schema\":\"berth.scan/1\",\"x\":\"\xff\xfe\"}", {"not valid JSON"});  // not UTF-8
}

TEST(ScanJsonParse, BracketsInsideStringsDoNotCountAsNesting) {
  json doc = SampleJson();
  doc["warnings"] = json::array({std::string(1000, '[') + "\\\"{"});
  auto got = ParseScanJson(doc.dump(), "rec.json");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->warnings.size(), 1u);
}

TEST(ScanJsonParse, RefusesDocumentsOverTheCapBeforeParsing) {
  // A view longer than the cap; its bytes are never read.
  const char byte = '{';
  std::string_view huge(&byte, kScanJsonMaxBytes + 1);
  auto got = ParseScanJson(huge, "big.json");
  ASSERT_FALSE(got);
  EXPECT_THAT(got.error().message, HasSubstr("more than the 256 MiB"));
}

}  // namespace
}  // namespace berth
