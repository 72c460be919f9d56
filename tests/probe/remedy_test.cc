#include "probe/remedy.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/service.h"

namespace berth::probe {
namespace {

ServiceRecord Rpc(std::uint32_t program, std::string name, Port port, bool dynamic = true) {
  ServiceRecord s;
  s.mapper = Mapper::kRpc;
  s.program = program;
  s.name = std::move(name);
  s.version = 1;
  s.netid = "tcp";
  s.port = port;
  s.dynamic = dynamic;
  return s;
}

ServiceRecord Sql(std::string instance, Port port, bool dac = false) {
  ServiceRecord s;
  s.mapper = Mapper::kSsrp;
  s.name = s.instance = std::move(instance);
  s.port = port;
  s.dynamic = true;
  s.dac = dac;
  return s;
}

ServiceRecord Epm(std::string annotation, std::string uuid = "00000000-0000-0000-0000-000000000000") {
  ServiceRecord s;
  s.mapper = Mapper::kEpm;
  s.annotation = std::move(annotation);
  s.interface_uuid = std::move(uuid);
  s.port = 49700;
  s.dynamic = true;
  return s;
}

TEST(ProbeRemedy, RegistryLabelMakesAValidLabelFromNetworkText) {
  EXPECT_EQ(RegistryLabel("SQLEXPRESS"), "sqlexpress");
  EXPECT_EQ(RegistryLabel("Sales_2019$"), "sales-2019");
  EXPECT_EQ(RegistryLabel("__a..b__"), "a-b");
  EXPECT_EQ(RegistryLabel("\x01\xff;"), "");
  EXPECT_EQ(RegistryLabel(std::string(100, 'x')).size(), 63u);
  EXPECT_EQ(RegistryLabel(std::string(62, 'x') + "_y"), std::string(62, 'x'));  // no '-' at the end
  for (std::string_view in : {"SQLEXPRESS", "Sales_2019$", "__a..b__", "a-b-c", "\xc3\xa9t\xc3\xa9", "x;rm -rf /"}) {
    const std::string label = RegistryLabel(in);
    if (!label.empty()) {
      EXPECT_TRUE(ValidateServiceName("mssql." + label)) << in;
    }
  }
}

// The wanted ports are written out here, not taken from core/nfs_ports.h, so that a wrong
// entry in berth's table fails this test instead of agreeing with it. Where they come from:
//   mountd 20048       IANA service-names-port-numbers: "mountd", tcp and udp;
//   statd  32765       Debian wiki SecuringNFS (statd --port 32765 --outgoing-port 32766);
//   lockd  32764       berth's own choice, docs/probe.md "Remedies": below Linux's ephemeral
//                      range 32768-60999, and IANA assigns none of 32764-32766;
//   MSSQLSERVER 1433   IANA "ms-sql-s", SQL Server's default instance.
constexpr Port kWantMountd = 20048;
constexpr Port kWantStatd = 32765;
constexpr Port kWantLockd = 32764;
constexpr Port kWantDefaultSqlInstance = 1433;

TEST(ProbeRemedy, WishesFollowTheConventionsAndSkipWhatCannotBePinnedAlone) {
  const auto mountd = WishFor(Rpc(100005, "mountd", 40001));
  ASSERT_TRUE(mountd);
  EXPECT_EQ(mountd->name, "nfs.mountd");
  EXPECT_EQ(mountd->preferred, kWantMountd);
  EXPECT_EQ(mountd->proto, ServiceProto::kBoth);
  EXPECT_TRUE(mountd->allow_iana);
  const auto statd = WishFor(Rpc(100024, "status", 40002));
  ASSERT_TRUE(statd);
  EXPECT_EQ(statd->name, "nfs.statd");
  EXPECT_EQ(statd->preferred, kWantStatd);
  const auto lockd = WishFor(Rpc(100021, "nlockmgr", 40003));
  ASSERT_TRUE(lockd);
  EXPECT_EQ(lockd->name, "nfs.lockd");
  EXPECT_EQ(lockd->preferred, kWantLockd);
  const auto custom = WishFor(Rpc(300019, "amd_Server", 40004));
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->name, "rpc.amd-server");
  EXPECT_FALSE(custom->preferred);
  const auto unnamed = WishFor(Rpc(300020, "", 40005));
  ASSERT_TRUE(unnamed);
  EXPECT_EQ(unnamed->name, "rpc.300020");
  EXPECT_FALSE(WishFor(Rpc(100005, "mountd", 20048, false))) << "fixed ports need no proposal";

  const auto express = WishFor(Sql("SQLEXPRESS", 49731));
  ASSERT_TRUE(express);
  EXPECT_EQ(express->name, "mssql.sqlexpress");
  const auto default_instance = WishFor(Sql("MSSQLSERVER", 49731));
  ASSERT_TRUE(default_instance);
  EXPECT_EQ(default_instance->preferred, kWantDefaultSqlInstance);
  EXPECT_FALSE(WishFor(Sql("SQLEXPRESS", 49732, true))) << "the DAC follows its instance";
  EXPECT_FALSE(WishFor(Sql(";;;", 49733))) << "nothing to name it by";

  const auto netlogon = WishFor(Epm("netlogon"));
  ASSERT_TRUE(netlogon);
  EXPECT_EQ(netlogon->name, "msrpc.netlogon");
  const auto drsuapi = WishFor(Epm("", "e3514235-4b06-11d1-ab04-00c04fc2dcd2"));
  ASSERT_TRUE(drsuapi) << "drsuapi is known by its interface UUID";
  EXPECT_EQ(drsuapi->name, "msrpc.drsuapi");
  const auto dfsr = WishFor(Epm("DFSR"));
  ASSERT_TRUE(dfsr);
  EXPECT_EQ(dfsr->name, "msrpc.dfsr");
  EXPECT_FALSE(WishFor(Epm("lsarpc"))) << "the restricted range pins the others";
}

// netsh's limits for `netsh int ipvN set dynamicport` (KB 929851: "The minimum range of ports
// that can be set is 255. The minimum start port that can be set is 1025."), written out here,
// not taken from core/windows_host.h, so that a wrong constant there fails this test.
constexpr int kNetshMinPorts = 255;
constexpr int kNetshMinStart = 1025;

// The RPC range remedy once said `netsh int ipv4 set dynamicport tcp start=5000 num=101`: below
// netsh's minimum, and on top of the Rpc\Internet range it recommended. Whatever `set
// dynamicport` it prints now obeys netsh and stays off the RPC range it recommends.
TEST(ProbeRemedy, TheRpcRangeRemedyNeverSetsADynamicRangeNetshRefusesNorStart5000) {
  HostReport r;
  r.target = "dc1";
  r.services = {Epm("lsarpc"), Epm("netlogon"), Epm("DFSR"), Epm("", "e3514235-4b06-11d1-ab04-00c04fc2dcd2")};
  std::string text;
  bool range_remedy = false;
  for (const Remedy& m : Remedies(r)) {
    if (m.mapper != Mapper::kEpm) continue;
    range_remedy |= m.subject == "MS-RPC dynamic range";
    text += m.text + "\n";
  }
  ASSERT_TRUE(range_remedy) << text;
  EXPECT_EQ(text.find("start=5000"), std::string::npos) << text;
  EXPECT_EQ(text.find("num=101"), std::string::npos) << text;

  std::smatch rpc;
  ASSERT_TRUE(std::regex_search(text, rpc, std::regex(R"(Ports \(REG_MULTI_SZ\) = (\d+)-(\d+))"))) << text;
  const int rpc_low = std::stoi(rpc[1]), rpc_high = std::stoi(rpc[2]);
  std::size_t sets = 0;
  for (std::size_t at = text.find("set dynamicport"); at != std::string::npos;
       at = text.find("set dynamicport", at + 1)) {
    ++sets;
  }
  std::size_t checked = 0;
  const std::regex set(R"(set dynamicport\s+(tcp|udp)\s+start=(\d+)\s+num=(\d+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), set); it != std::sregex_iterator(); ++it) {
    const int start = std::stoi((*it)[2]), num = std::stoi((*it)[3]);
    EXPECT_GE(start, kNetshMinStart) << it->str();
    EXPECT_GE(num, kNetshMinPorts) << it->str();
    EXPECT_TRUE(start + num - 1 < rpc_low || start > rpc_high) << it->str() << " lies on the RPC range";
    ++checked;
  }
  EXPECT_EQ(checked, sets) << "a set dynamicport without start= and num=:\n" << text;
}

TEST(ProbeRemedy, RemediesUseTheStaticPortsAndListTheClaimsOfProposalsOnly) {
  HostReport r;
  r.target = "db1";
  r.services = {Rpc(100005, "mountd", 40001), Sql("SQLEXPRESS", 49731), Sql("SALES", 49800), Epm("netlogon")};
  r.services[0].static_port = StaticPort{"nfs.mountd", ServiceProto::kBoth, 20048, false, ""};
  r.services[1].static_port = StaticPort{"mssql.sqlexpress", ServiceProto::kTcp, 21001, false, ""};
  r.services[2].static_port = StaticPort{"mssql.sales", ServiceProto::kTcp, 21002, true, ""};
  r.services[3].static_port = StaticPort{"msrpc.netlogon", ServiceProto::kTcp, 21003, false, ""};
  std::string all, claims;
  for (const Remedy& m : Remedies(r)) {
    all += m.text + "\n";
    if (m.subject == "registry") claims += m.text + "\n";
  }
  EXPECT_NE(all.find("[mountd]\nport=20048"), std::string::npos) << all;
  EXPECT_NE(all.find("Server=db1,21001 instead of db1\\SQLEXPRESS"), std::string::npos) << all;
  EXPECT_NE(all.find("Server=db1,21002 instead of db1\\SALES"), std::string::npos) << all;
  EXPECT_NE(all.find("'rpc server port:netlogon = 21003'"), std::string::npos) << all;
  EXPECT_EQ(all.find("<PORT>"), std::string::npos) << all;
  EXPECT_NE(claims.find("berth assign nfs.mountd --port 20048 --proto both --allow-iana"), std::string::npos) << claims;
  EXPECT_NE(claims.find("berth assign mssql.sqlexpress --port 21001 --proto tcp\n"), std::string::npos) << claims;
  EXPECT_NE(claims.find("berth assign msrpc.netlogon --port 21003 --proto tcp"), std::string::npos) << claims;
  EXPECT_EQ(claims.find("mssql.sales"), std::string::npos) << "already registered: nothing to claim";

  // Without static ports the placeholders stay and nothing is to be claimed.
  for (ServiceRecord& s : r.services) s.static_port.reset();
  all.clear();
  for (const Remedy& m : Remedies(r)) {
    EXPECT_NE(m.subject, "registry");
    all += m.text;
  }
  EXPECT_NE(all.find("Server=db1,<PORT>"), std::string::npos) << all;
  EXPECT_NE(all.find("[mountd]\nport=20048"), std::string::npos) << all;
}

}  // namespace
}  // namespace berth::probe
