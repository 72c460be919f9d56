// Windows' port limits and the Windows audit on hand-built hosts (the fixtures' exact
// findings are asserted end to end in tests/integration/windows_cli_test.cc).
#include "core/audit_windows.h"

#include "core/service.h"

#include <gtest/gtest.h>

namespace berth::windows {
namespace {

TEST(WindowsLimits, NetshAcceptsAtLeast255PortsFrom1025) {
  EXPECT_TRUE(NetshAccepts(kDefaultDynamicRange));
  EXPECT_TRUE(NetshAccepts({1025, 1279}));
  EXPECT_FALSE(NetshAccepts({1025, 1278}));     // 254 ports
  EXPECT_FALSE(NetshAccepts({1024, 2000}));     // start below 1025
  EXPECT_FALSE(NetshAccepts({5000, 5100}));     // the old advice: start=5000 num=101
}

TEST(WindowsLimits, ChooseDynamicRangeKeepsObeysAndAvoids) {
  // A valid range off the RPC block stays.
  EXPECT_EQ(ChooseDynamicRange({10000, 20000}, PortSet{{5000, 5255}}), (PortRange{10000, 20000}));
  // The old advice's 5000-5100 (too small, and on the RPC block) goes back to the default.
  EXPECT_EQ(ChooseDynamicRange({5000, 5100}, PortSet{{5000, 5100}}), kDefaultDynamicRange);
  // An RPC block inside the default: the larger side of it, never on it.
  const auto r = ChooseDynamicRange({5000, 5100}, PortSet{{50000, 50255}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (PortRange{50256, 65535}));
  EXPECT_TRUE(NetshAccepts(*r));
  // Nothing fits: every port of the default range avoided.
  EXPECT_EQ(ChooseDynamicRange({5000, 5100}, PortSet{{1, 65535}}), std::nullopt);
}

TEST(WindowsLimits, BroadRules) {
  FirewallRule r{.name = "x", .display_name = "x", .protocol = "TCP", .local_port = "49152-65535",
                 .ports = PortSet{{49152, 65535}}};
  EXPECT_TRUE(IsBroadRule(r, PortSet{kDefaultDynamicRange}));
  r.allow = false;
  EXPECT_FALSE(IsBroadRule(r, PortSet{kDefaultDynamicRange}));
  r.allow = true;
  r.ports = PortSet{{5000, 5255}};  // an RPC block: 256 ports outside the dynamic range
  EXPECT_FALSE(IsBroadRule(r, PortSet{kDefaultDynamicRange}));
  r.ports = PortSet{{49152, 49300}};  // 149 dynamic ports
  EXPECT_TRUE(IsBroadRule(r, PortSet{kDefaultDynamicRange}));
}

TEST(WindowsAudit, RangeBelowNetshLimitsGetsAFixNetshAccepts) {
  WindowsHost h;
  h.snap.hostname = "W1";
  h.dynamic.push_back(PortBlock{Protocol::kTcp, 4, {5000, 5100}, false});
  const auto findings = AuditWindowsHost(h, "berth remedy --format powershell --from 'w1.json'");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].id, FindingId::kEphemeralRangeSmall);
  EXPECT_EQ(findings[0].fix, "netsh int ipv4 set dynamicport tcp start=49152 num=16384");
  EXPECT_TRUE(NetshAccepts(PortRange{49152, static_cast<Port>(49152 + 16384 - 1)}));
}

TEST(WindowsAudit, SqlInstanceWithTcpDynamicPortsSet) {
  WindowsHost h;
  h.snap.hostname = "W1";
  h.sql.push_back(SqlInstance{"SQLEXPRESS", "MSSQL16.SQLEXPRESS", "", "0", true});
  h.sql.push_back(SqlInstance{"PINNED", "MSSQL16.PINNED", "41433", "", true});
  const auto findings = AuditWindowsHost(h, "REMEDY");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].id, FindingId::kSqlDynamicPort);
  EXPECT_EQ(findings[0].subject, "SQL Server instance SQLEXPRESS (MSSQL16.SQLEXPRESS)");
  EXPECT_TRUE(findings[0].ports.empty());  // "0": no port yet
  EXPECT_TRUE(findings[0].fix.ends_with(": REMEDY")) << findings[0].fix;
  EXPECT_NE(findings[0].fix.find("mssql.sqlexpress"), std::string::npos);
}

TEST(WindowsAudit, SqlServiceNames) {
  EXPECT_EQ(SqlServiceName("SQLEXPRESS"), "mssql.sqlexpress");
  EXPECT_EQ(SqlServiceName("MSSQLSERVER"), "mssql.mssqlserver");
  EXPECT_EQ(SqlServiceName("O'Brien_2"), "mssql.o-brien-2");
  EXPECT_EQ(SqlServiceName("$$$"), "");
  const std::string longest = SqlServiceName(std::string(100, 'a') + "-b");
  EXPECT_EQ(longest.size(), 63u);
  EXPECT_TRUE(ValidateServiceName(longest).has_value());
}

}  // namespace
}  // namespace berth::windows
