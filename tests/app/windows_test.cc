// The Windows remedy use case on a real SQLite registry: where the OS dynamic range must move
// (netsh's limits, the RPC block), which registered ports get excluded, what the firewall
// opens, and the claims it refuses.
#include "app/windows.h"

#include <gtest/gtest.h>

#include "registry/registry_test_util.h"
#include "registry/sqlite_store.h"

namespace berth {
namespace {

windows::WindowsHost Host() {
  windows::WindowsHost h;
  h.snap.hostname = "W1";
  // Someone followed the old advice where netsh let them: the range is 5000-5100 (101 ports).
  for (std::uint8_t family : {std::uint8_t{4}, std::uint8_t{6}}) {
    h.dynamic.push_back({Protocol::kTcp, family, {5000, 5100}, false});
    h.dynamic.push_back({Protocol::kUdp, family, {49152, 65535}, false});
  }
  h.snap.config.ephemeral = {5000, 5100};
  h.sql.push_back({"SQLEXPRESS", "MSSQL16.SQLEXPRESS", "", "0", true});
  return h;
}

class WindowsRemedyUseCase : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test::OpenOrDie(dir_.File("registry.db"));
    ASSERT_NE(store_, nullptr);
    registry::Group g;
    g.name = "win";
    g.hosts = {"W1"};
    ASSERT_TRUE(store_->PutGroup(g));
  }
  // Registers `name` on `port` in group win, as berth assign would have.
  void Claim(const std::string& name, Port port, ServiceProto proto = ServiceProto::kTcp) {
    registry::ServiceRecord rec;
    rec.service.name = name;
    rec.service.group = "win";
    rec.service.proto = proto;
    rec.service.port = port;
    ASSERT_TRUE(store_->ClaimService(rec));
  }
  test::TempDir dir_;
  std::unique_ptr<registry::SqliteStore> store_;
};

TEST_F(WindowsRemedyUseCase, TheOldTooSmallRangeMovesBackAndRegisteredPortsInItAreExcluded) {
  // A service registered in the group on a port inside Windows' default range.
  Claim("app.api", 50500, ServiceProto::kBoth);

  auto r = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{"", PortRange{6000, 6255}});
  ASSERT_TRUE(r) << r.error().message;
  const WindowsRemedyPlan& plan = r->plan;
  EXPECT_EQ(plan.group, "win");
  // Only the TCP ranges move (netsh refuses 101 ports), to the default, which is off the RPC block.
  ASSERT_EQ(plan.dynamic_moves.size(), 2u);
  for (const windows::PortBlock& m : plan.dynamic_moves) {
    EXPECT_EQ(m.proto, Protocol::kTcp);
    EXPECT_EQ(m.range, windows::kDefaultDynamicRange);
    EXPECT_TRUE(windows::NetshAccepts(m.range));
  }
  // 50500 lies in the moved TCP ranges and the UDP ranges: excluded in each, both families.
  ASSERT_EQ(plan.exclusions.size(), 4u);
  for (const windows::PortBlock& e : plan.exclusions) EXPECT_EQ(e.range, (PortRange{50500, 50500}));
  // The instance: claimed outside every dynamic range (the moved one included), never 1434.
  ASSERT_EQ(plan.sql.size(), 1u);
  EXPECT_EQ(plan.sql[0].service, "mssql.sqlexpress");
  EXPECT_NE(plan.sql[0].port, 1434);
  EXPECT_FALSE(windows::kDefaultDynamicRange.contains(plan.sql[0].port));
  EXPECT_FALSE((PortRange{5000, 5100}).contains(plan.sql[0].port));
  EXPECT_FALSE((PortRange{6000, 6255}).contains(plan.sql[0].port));  // nor on the RPC block
  // The firewall: the registered ports, the block and 135.
  EXPECT_TRUE(plan.open_tcp.contains(135));
  EXPECT_TRUE(plan.open_tcp.contains(6000) && plan.open_tcp.contains(6255));
  EXPECT_TRUE(plan.open_tcp.contains(50500) && plan.open_udp.contains(50500));
  EXPECT_TRUE(plan.open_tcp.contains(plan.sql[0].port));
  EXPECT_FALSE(plan.open_udp.contains(135));
}

TEST_F(WindowsRemedyUseCase, AnRpcBlockOnTheDynamicRangeOrOn1434IsRefusedAndClaimsNothing) {
  for (const auto& [block, says] : std::vector<std::pair<PortRange, std::string>>{
           {{5000, 5255}, "overlaps W1's tcp dynamic range at 5000-5100"},
           {{1400, 1655}, "holds 1434, the SQL Server Browser's port"}}) {
    auto r = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{"", block});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
    auto services = store_->ListServices();  // a refused block claims nothing
    ASSERT_TRUE(services);
    EXPECT_TRUE(services->empty());
  }
}

// TCP 135 is opened only for an RPC block: without one the endpoint mapper hands out ports no
// rule opens, and the plan leaves RPC alone.
TEST_F(WindowsRemedyUseCase, WithoutAnRpcBlockTheFirewallDoesNotOpen135) {
  Claim("app.api", 7000);
  auto r = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->plan.rpc_block);
  EXPECT_FALSE(r->plan.open_tcp.contains(135)) << r->plan.open_tcp.Format();
  EXPECT_FALSE(r->plan.open_udp.contains(135)) << r->plan.open_udp.Format();
  EXPECT_TRUE(r->plan.open_tcp.contains(7000)) << r->plan.open_tcp.Format();
  ASSERT_EQ(r->plan.sql.size(), 1u);
  EXPECT_TRUE(r->plan.open_tcp.contains(r->plan.sql[0].port)) << r->plan.open_tcp.Format();
}

TEST_F(WindowsRemedyUseCase, AnInstanceRegisteredOn1434IsRefused) {
  Claim("mssql.sqlexpress", 1434);
  auto r = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the SQL Server Browser's port"), std::string::npos) << r.error().message;
  ASSERT_EQ(r.error().hints.size(), 1u);
  EXPECT_EQ(r.error().hints[0].remedy, Remedy::kReleaseFirst);
}

TEST_F(WindowsRemedyUseCase, AHostInNoGroupIsNotFoundWithTheGroupToCreate) {
  windows::WindowsHost h = Host();
  h.snap.hostname = "W2";
  auto r = app::PlanWindowsRemedy(h, *store_, app::WindowsRemedyRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  ASSERT_EQ(r.error().hints.size(), 1u);
  EXPECT_EQ(r.error().hints[0].remedy, Remedy::kCreateGroup);
  // Nothing was claimed.
  auto services = store_->ListServices();
  ASSERT_TRUE(services);
  EXPECT_TRUE(services->empty());
}

// --rpc-ports alone: the block is claimed as the group's range rpc.dynamic (IANA's names for
// other products do not refuse it), once: a second run finds it.
TEST_F(WindowsRemedyUseCase, AnRpcBlockGivenAloneIsClaimedAsTheGroupsRange) {
  auto r = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{"", PortRange{6000, 6255}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->plan.rpc_block_claimed);
  ASSERT_FALSE(r->claimed.empty());
  EXPECT_EQ(r->claimed.front().record.service.name, "rpc.dynamic");
  EXPECT_TRUE(r->claimed.front().created);
  auto held = store_->GetService("rpc.dynamic");
  ASSERT_TRUE(held && *held);
  EXPECT_EQ((*held)->service.group, "win");
  EXPECT_EQ((*held)->service.port, 6000);
  EXPECT_EQ((*held)->service.size, 256u);
  auto again = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{"", PortRange{6000, 6255}});
  ASSERT_TRUE(again) << again.error().message;
  for (const registry::Assignment& a : again->claimed) EXPECT_FALSE(a.created) << a.record.service.name;
  // Another block now: the group holds one.
  auto other = app::PlanWindowsRemedy(Host(), *store_, app::WindowsRemedyRequest{"", PortRange{7000, 7255}});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("group win holds 6000-6255"), std::string::npos) << other.error().message;
}

windows::WindowsHost DfsrAndWmiHost() {
  windows::WindowsHost h = Host();
  h.services.push_back({"DFSR", 1700, "Running"});
  h.services.push_back({"Winmgmt", 1400, "Running"});
  h.services.push_back({"Schedule", 1400, "Running"});  // WMI shares its svchost
  return h;
}

// DFSR and WMI run: each is claimed in the group (msrpc.dfsr where the allocator places it,
// outside every dynamic range and the block; msrpc.wmi on WMI's fixed 24158), planned with its
// own method, and opened in the firewall like every registered port.
TEST_F(WindowsRemedyUseCase, DfsrAndWmiArePinnedOnPortsTheRegistryClaims) {
  auto r = app::PlanWindowsRemedy(DfsrAndWmiHost(), *store_, app::WindowsRemedyRequest{"", PortRange{6000, 6255}});
  ASSERT_TRUE(r) << r.error().message;
  const WindowsRemedyPlan& plan = r->plan;
  ASSERT_EQ(plan.rpc_pins.size(), 2u);  // not a domain controller: no NTDS, no Netlogon
  EXPECT_EQ(plan.rpc_pins[0].service, "msrpc.dfsr");
  EXPECT_EQ(plan.rpc_pins[0].method, windows::PinMethod::kDfsrdiag);
  const Port dfsr = plan.rpc_pins[0].port;
  EXPECT_FALSE((PortRange{5000, 5100}).contains(dfsr));
  EXPECT_FALSE(windows::kDefaultDynamicRange.contains(dfsr));
  EXPECT_FALSE((PortRange{6000, 6255}).contains(dfsr));
  EXPECT_EQ(plan.rpc_pins[1].service, "msrpc.wmi");
  EXPECT_EQ(plan.rpc_pins[1].method, windows::PinMethod::kWinmgmtStandalone);
  EXPECT_EQ(plan.rpc_pins[1].port, windows::kWmiStandalonePort);
  for (const char* name : {"msrpc.dfsr", "msrpc.wmi"}) {
    auto held = store_->GetService(name);
    ASSERT_TRUE(held && *held) << name;
    EXPECT_EQ((*held)->service.group, "win") << name;
  }
  EXPECT_EQ((*store_->GetService("msrpc.wmi"))->service.port, windows::kWmiStandalonePort);
  EXPECT_TRUE(plan.open_tcp.contains(windows::kWmiStandalonePort));
  EXPECT_TRUE(plan.open_tcp.contains(dfsr));
}

// 24158 registered to another service: WMI cannot move there; refused before anything is
// claimed (the block, the instance, DFSR), naming the holder and the release that frees it.
TEST_F(WindowsRemedyUseCase, WmisFixedPortHeldByAnotherClaimIsRefusedBeforeAnyClaim) {
  Claim("legacy.app", windows::kWmiStandalonePort);
  auto r = app::PlanWindowsRemedy(DfsrAndWmiHost(), *store_, app::WindowsRemedyRequest{"", PortRange{6000, 6255}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("Winmgmt runs on W1: its fixed port 24158/tcp (msrpc.wmi) is registered "
                                   "to legacy.app in group win"),
            std::string::npos)
      << r.error().message;
  ASSERT_EQ(r.error().hints.size(), 1u);
  EXPECT_EQ(r.error().hints[0].remedy, Remedy::kReleaseFirst);
  auto services = store_->ListServices();
  ASSERT_TRUE(services);
  ASSERT_EQ(services->size(), 1u);
  EXPECT_EQ(services->front().service.name, "legacy.app");
}

}  // namespace
}  // namespace berth
