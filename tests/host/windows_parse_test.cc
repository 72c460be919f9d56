// The collected-Windows-host reader on the fixtures of tests/fixtures/windows (written by
// make-fixtures.py the way PowerShell 5.1 and 7 write them) and on hostile or broken input.
#include "host/windows_parse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace berth {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(BERTH_FIXTURES) + "/windows/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Utf16(std::string_view ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

const ProcessInfo* OwnerOf(const HostSnapshot& snap, Protocol proto, Port port) {
  for (const SocketOwner& o : snap.owners) {
    const SocketRecord& s = snap.sockets[o.socket];
    if (s.proto == proto && s.local_port == port) return &snap.processes[o.process];
  }
  return nullptr;
}

void ExpectWinSql01(const windows::WindowsHost& h) {
  EXPECT_EQ(h.snap.hostname, "WIN-SQL01");
  EXPECT_EQ(h.snap.config.ephemeral, (PortRange{49152, 65535}));
  EXPECT_EQ(h.snap.config.reserved.Format(), "5357,50000-50059");
  ASSERT_EQ(h.dynamic.size(), 4u);
  EXPECT_EQ(h.dynamic[3].family, 6);
  EXPECT_EQ(h.dynamic[3].proto, Protocol::kUdp);
  const ProcessInfo* rpc = OwnerOf(h.snap, Protocol::kTcp, 135);
  ASSERT_NE(rpc, nullptr);
  EXPECT_EQ(rpc->command, "svchost");
  EXPECT_EQ(rpc->unit, "RpcEptMapper,RpcSs");  // one svchost, two services, sorted
  const ProcessInfo* browser = OwnerOf(h.snap, Protocol::kUdp, 1434);
  ASSERT_NE(browser, nullptr);
  EXPECT_EQ(browser->unit, "SQLBrowser");
  EXPECT_TRUE(h.snap.owners_resolved);
  EXPECT_TRUE(std::is_sorted(h.snap.owners.begin(), h.snap.owners.end(),
                             [](const SocketOwner& a, const SocketOwner& b) { return a.socket < b.socket; }));
}

TEST(WindowsParse, Ps7CollectorOutputUtf8) {
  auto h = ParseWindowsCollection(Fixture("ps7-collector.json"), "ps7.json");
  ASSERT_TRUE(h) << h.error().message;
  ExpectWinSql01(*h);
  EXPECT_EQ(h->snap.sockets.size(), 13u);
  EXPECT_EQ(h->collected, std::optional<std::int64_t>(1764712800000));  // ISO 8601
  EXPECT_EQ(h->ps_version, "7.4.6");
  ASSERT_EQ(h->sql.size(), 2u);
  EXPECT_FALSE(h->sql[0].dynamic());
  EXPECT_TRUE(h->sql[1].dynamic());
  EXPECT_EQ(h->sql[1].tcp_dynamic_ports, "49703");
  EXPECT_FALSE(h->rpc.present);
  ASSERT_EQ(h->firewall.size(), 3u);
  EXPECT_EQ(h->firewall[0].display_name, "SQL Dynamic Ports");
  EXPECT_EQ(h->firewall[0].ports.Format(), "49152-65535");
  EXPECT_TRUE(h->firewall[0].allow);
  EXPECT_FALSE(h->firewall[2].allow);  // Action 4: Block
  EXPECT_FALSE(h->snap.partial);
}

TEST(WindowsParse, Ps51RedirectedOutputIsUtf16LeWithBom) {
  const std::string bytes = Fixture("ps51-collector-utf16.json");
  ASSERT_TRUE(bytes.starts_with("\xFF\xFE"));
  EXPECT_TRUE(LooksLikeWindowsCollection(bytes));
  auto h = ParseWindowsCollection(bytes, "ps51.json");
  ASSERT_TRUE(h) << h.error().message;
  ExpectWinSql01(*h);
  EXPECT_EQ(h->collected, std::optional<std::int64_t>(1764712800000));  // \/Date(ms)\/
}

TEST(WindowsParse, Ps51DefaultDepthLoneObjectsAndCutArrays) {
  auto h = ParseWindowsCollection(Fixture("ps51-depth2-utf16.json"), "depth2.json");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->collected, std::optional<std::int64_t>(1764712800000));  // Get-Date's {value: ...}
  ASSERT_EQ(h->sql.size(), 1u);  // a lone object
  EXPECT_EQ(h->sql[0].name, "O'BRIEN");  // \u0027
  EXPECT_EQ(h->sql[0].tcp_port, "");     // null
  EXPECT_TRUE(h->sql[0].dynamic());      // "0": take a port at start
  ASSERT_EQ(h->firewall.size(), 1u);
  EXPECT_EQ(h->firewall[0].ports.Format(), "49152-65535");
  ASSERT_TRUE(h->rpc.present);
  EXPECT_EQ(h->rpc.ports, (std::vector<std::string>{"5000-5100", "6000-6100"}));  // cut to "a b"
  EXPECT_EQ(h->snap.warnings, (std::vector<std::string>{"Get-NetUDPEndpoint: Access denied"}));
  EXPECT_TRUE(h->snap.partial);
}

TEST(WindowsParse, EnumsAsNamesAndNonListenersSkipped) {
  const std::string doc = R"({"Schema":"berth.windows/1","ComputerName":"W1",
    "TcpListeners":[{"LocalAddress":"fe80::1%12","LocalPort":5985,"OwningProcess":4,"State":"Listen"},
                    {"LocalAddress":"10.0.0.5","LocalPort":51000,"OwningProcess":4,"State":5},
                    {"LocalAddress":"0.0.0.0","LocalPort":51001,"OwningProcess":4,"State":100}],
    "FirewallRules":{"Name":"r","DisplayName":"d","Enabled":"True","Direction":"Inbound",
                     "Action":"Allow","Protocol":"TCP","LocalPort":["135","5000-5255","RPC"]}})";
  auto h = ParseWindowsCollection(doc, "names.json");
  ASSERT_TRUE(h) << h.error().message;
  ASSERT_EQ(h->snap.sockets.size(), 1u);
  EXPECT_EQ(h->snap.Local(h->snap.sockets[0]).family, 6);
  EXPECT_EQ(h->snap.sockets[0].local_port, 5985);
  ASSERT_EQ(h->firewall.size(), 1u);
  EXPECT_TRUE(h->firewall[0].enabled && h->firewall[0].inbound && h->firewall[0].allow);
  EXPECT_EQ(h->firewall[0].local_port, "135,5000-5255,RPC");
  EXPECT_EQ(h->firewall[0].ports.Format(), "135,5000-5255");
  EXPECT_EQ(h->snap.config.ephemeral, (PortRange{49152, 65535}));  // no netsh answer: the default
}

void ExpectRefused(const std::string& bytes, std::string_view says) {
  auto h = ParseWindowsCollection(bytes, "bad.json");
  ASSERT_FALSE(h) << "accepted: " << bytes.substr(0, 80);
  EXPECT_EQ(h.error().code, ErrorCode::kMalformed);
  EXPECT_NE(h.error().message.find(says), std::string::npos) << h.error().message;
  EXPECT_TRUE(h.error().message.starts_with("bad.json: ")) << h.error().message;
}

TEST(WindowsParse, RefusesAnythingElseClearly) {
  ExpectRefused(R"({"schema":"berth.scan/2","host":{}})", "expected Schema \"berth.windows/1\"");
  ExpectRefused(R"([{"Schema":"berth.windows/1"}])", "expected an object, got array");
  ExpectRefused("\xFE\xFF\0{", "UTF-16 big-endian");
  ExpectRefused(std::string("\xFF\xFE\0\0", 4), "UTF-32");
  ExpectRefused("\xFF\xFE{\0\"", "odd length");
  ExpectRefused(std::string("\xFF\xFE\x00\xD8{\0", 6), "unpaired UTF-16 surrogate");
  ExpectRefused(Utf16(R"({"Schema":"berth.windows/1"})"), "ComputerName");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","SqlInstances":"@{Name=SQLEXPRESS; Id=MSSQL16.SQLEXPRESS}"})",
                "cut by ConvertTo-Json's -Depth");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","FirewallRules":["System.Collections.Hashtable"]})",
                "cut by ConvertTo-Json's -Depth");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","TcpListeners":[{"LocalAddress":"x","LocalPort":1,"OwningProcess":1}]})",
                "not an IP address");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","TcpListeners":[{"LocalAddress":"::","LocalPort":70000,"OwningProcess":1}]})",
                "TcpListeners[0].LocalPort");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","DynamicPortRanges":[{"Family":"ipv4","Protocol":"tcp","StartPort":65000,"NumberOfPorts":1000}]})",
                "NumberOfPorts");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","Collected":"yesterday"})", "not a date");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","Processes":[{"Id":4,"ProcessName":"a"},{"Id":4,"ProcessName":"b"}]})",
                "listed twice");
  ExpectRefused(R"({"Schema":"berth.windows/1","ComputerName":"W","FirewallRules":{"Name":"r","Enabled":7,"Direction":1,"Action":2}})",
                "Enabled");
  ExpectRefused("{\"Schema\":\"berth.windows/1\",\"ComputerName\":\"W\"", "not valid JSON");
  ExpectRefused(std::string(100, '[') + std::string(100, ']'), "nested deeper");
}

TEST(WindowsParse, BoundedInSize) {
  std::string huge(kWindowsMaxBytes + 1, ' ');
  ExpectRefused(huge, "more than the 64 MiB");
}

TEST(WindowsParse, LooksLikeOnlyForCollectedHosts) {
  EXPECT_TRUE(LooksLikeWindowsCollection(Fixture("ps7-collector.json")));
  EXPECT_FALSE(LooksLikeWindowsCollection(R"({"schema":"berth.scan/2"})"));
  EXPECT_TRUE(LooksLikeWindowsCollection("{\"ComputerName\":\"W\",\"Schema\" :\r\n \"berth.windows/1\"}"));
  EXPECT_FALSE(LooksLikeWindowsCollection(R"({"schema":"berth.scan/2","warnings":["Schema berth.windows/1"]})"));
}

}  // namespace
}  // namespace berth
