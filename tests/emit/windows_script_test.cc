// The generated PowerShell, parsed by the real grammar (tests/support/powershell_tree.h):
// no ERROR or MISSING node, and the tree holds the registry paths, value names and types,
// cmdlets and parameters the scripts must have. The hostile corpus through every field that
// reaches the remedy script: the tree keeps its shape, and every literal stays closed by
// PowerShell's own quote rule.
#include "emit/windows_script.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "emit/firewall.h"
#include "emit/firewall_quote.h"
#include "emit/hostile_corpus.h"
#include "support/powershell_tree.h"
#include "support/test_support.h"

namespace berth {
namespace {

using test::ParsePowerShell;
using test::PsParse;
using test::UnquoteVerbatim;

#define REQUIRE_GRAMMAR()                                                                        \
  do {                                                                                           \
    if (!test::HavePowerShellGrammar()) {                                                        \
      BERTH_MISSING_PEER("the PowerShell grammar is missing: scripts/install-deps test fetches " \
                         "tree-sitter-powershell; then reconfigure");                           \
    }                                                                                            \
  } while (0)

std::string Render(const auto& fn) {
  std::string out;
  fn([&](std::string_view s) { out += s; });
  return out;
}

bool HasVerbatim(const PsParse& p, std::string_view value) {
  return std::any_of(p.verbatim.begin(), p.verbatim.end(),
                     [&](const std::string& t) { return UnquoteVerbatim(t) == value; });
}

TEST(PowerShellGrammar, TheHarnessCanFail) {
  REQUIRE_GRAMMAR();
  EXPECT_TRUE(ParsePowerShell("Set-ItemProperty -Path 'HKLM:\\x' -Name 'a''b'\n").ok);
  EXPECT_FALSE(ParsePowerShell("Set-ItemProperty -Path 'HKLM:\\x\n").ok);  // unclosed literal
  EXPECT_FALSE(ParsePowerShell("if ($a) { Write-Host 'x'\n").ok);         // missing brace
  // A value pasted in unquoted changes the tree's shape: what the hostile test compares.
  EXPECT_NE(ParsePowerShell("$h = 'WIN1'\n").shape, ParsePowerShell("$h = 'x'; touch pwned; ''\n").shape);
  EXPECT_TRUE(test::VerbatimClosedForPowerShell("'it''s \xe2\x80\x99\xe2\x80\x99 ok'"));
  EXPECT_FALSE(test::VerbatimClosedForPowerShell("'it\xe2\x80\x99s not'"));  // PowerShell ends it there
}

TEST(WindowsCollector, ParsesAndReadsWhatTheReaderExpects) {
  REQUIRE_GRAMMAR();
  const std::string script = Render(RenderWindowsCollector);
  const PsParse p = ParsePowerShell(script);
  ASSERT_TRUE(p.ok) << p.error;
  const auto tcp = p.Named("Get-NetTCPConnection");
  ASSERT_EQ(tcp.size(), 1u);
  EXPECT_EQ(tcp[0].Arg("-State"), "Listen");
  EXPECT_EQ(p.Named("Get-NetUDPEndpoint").size(), 1u);
  const auto cim = p.Named("Get-CimInstance");
  ASSERT_EQ(cim.size(), 1u);
  EXPECT_EQ(cim[0].Arg("-ClassName"), "Win32_Service");
  EXPECT_EQ(cim[0].Arg("-Filter"), "'ProcessId <> 0'");
  const auto filters = p.Named("Get-NetFirewallPortFilter");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_TRUE(filters[0].Has("-All"));
  const auto to_json = p.Named("ConvertTo-Json");
  ASSERT_EQ(to_json.size(), 1u);
  EXPECT_EQ(to_json[0].Arg("-Depth"), "8");
  EXPECT_TRUE(to_json[0].Has("-Compress"));
  // netsh: both families and protocols, dynamic and excluded ranges.
  const auto netsh = p.Named("netsh.exe");
  ASSERT_EQ(netsh.size(), 2u);
  EXPECT_EQ(netsh[0].elements, (std::vector<std::string>{"int", "$family", "show", "dynamicport", "$proto"}));
  EXPECT_EQ(netsh[1].elements[3], "excludedportrange");
  EXPECT_TRUE(HasVerbatim(p, "HKLM:\\SOFTWARE\\Microsoft\\Rpc\\Internet"));
  EXPECT_TRUE(HasVerbatim(p, "HKLM:\\SOFTWARE\\Microsoft\\Microsoft SQL Server"));
  EXPECT_TRUE(HasVerbatim(p, "\\Instance Names\\SQL"));
  EXPECT_TRUE(HasVerbatim(p, "\\MSSQLServer\\SuperSocketNetLib\\Tcp"));
  EXPECT_TRUE(HasVerbatim(p, "berth.windows/1"));
  // The writer: UTF-8 without a BOM.
  const auto utf8 = p.Named("New-Object");
  EXPECT_TRUE(std::any_of(utf8.begin(), utf8.end(), [](const test::PsCommand& c) {
    return c.Arg("-TypeName") == "System.Text.UTF8Encoding" && c.Arg("-ArgumentList") == "$false";
  }));
  // It changes nothing: no Set-, New-Item, Remove- or netsh set/add.
  for (const test::PsCommand& c : p.commands) {
    EXPECT_FALSE((c.name.starts_with("Set-") && c.name != "Set-StrictMode") || c.name.starts_with("Remove-") || c.name == "New-Item" ||
                 c.name == "New-ItemProperty" || c.name == "New-NetFirewallRule")
        << c.name;
  }
}

WindowsRemedyPlan SamplePlan() {
  WindowsRemedyPlan plan;
  plan.host = "WIN-SQL01";
  plan.group = "win";
  plan.sql.push_back({"SQLEXPRESS", "MSSQL16.SQLEXPRESS", "mssql.sqlexpress", 41433, true});
  plan.sql.push_back({"MSSQLSERVER", "MSSQL16.MSSQLSERVER", "mssql.mssqlserver", 1433, false});
  plan.rpc_pins.push_back({"msrpc.drsuapi", "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters",
                           "TCP/IP Port", 38901});
  plan.rpc_pins.push_back({"msrpc.dfsr", "", "", 38903, windows::PinMethod::kDfsrdiag});
  plan.rpc_pins.push_back({"msrpc.wmi", "", "", 24158, windows::PinMethod::kWinmgmtStandalone});
  plan.rpc_block = PortRange{5000, 5255};
  plan.dynamic_moves.push_back({Protocol::kTcp, 4, {49152, 65535}, false});
  plan.exclusions.push_back({Protocol::kTcp, 4, {50500, 50501}, false});
  plan.open_tcp = PortSet{{135, 135}, {1433, 1433}, {5000, 5255}, {41433, 41433}};
  plan.open_udp = PortSet{{5353, 5353}};
  windows::FirewallRule legacy;
  legacy.name = "{5A1C3F2E-0B7D-4C2A-9E51-6D3F1B2A7C44}";
  legacy.display_name = "SQL Dynamic Ports";
  legacy.local_port = "49152-65535";
  plan.legacy.push_back(legacy);
  return plan;
}

TEST(WindowsRemedy, ParsesWithEverySettingInTheTree) {
  REQUIRE_GRAMMAR();
  const std::string script = Render([&](const Sink& s) { RenderWindowsRemedy(SamplePlan(), s); });
  const PsParse p = ParsePowerShell(script);
  ASSERT_TRUE(p.ok) << p.error << "\n" << script;
  EXPECT_NE(script.find("[CmdletBinding(SupportsShouldProcess = $true)]"), std::string::npos);
  EXPECT_TRUE(std::count(p.variables.begin(), p.variables.end(), "$PSCmdlet") >= 6);

  // SQL Server: IPAll TcpPort (REG_SZ) = the registry's port, TcpDynamicPorts cleared.
  EXPECT_TRUE(HasVerbatim(p, "HKLM:\\SOFTWARE\\Microsoft\\Microsoft SQL Server\\MSSQL16.SQLEXPRESS\\"
                             "MSSQLServer\\SuperSocketNetLib\\Tcp\\IPAll"));
  std::vector<std::string> set;
  for (const test::PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    set.push_back(UnquoteVerbatim(c.Arg("-Name")) + "=" + c.Arg("-Value") + ":" + UnquoteVerbatim(c.Arg("-Type")));
  }
  EXPECT_EQ(set, (std::vector<std::string>{
                     "TcpPort='41433':String", "TcpDynamicPorts='':String",
                     "TcpPort='1433':String", "TcpDynamicPorts='':String",
                     "TCP/IP Port=38901:DWord",
                     "Ports=@('5000-5255'):MultiString", "PortsInternetAvailable='Y':String",
                     "UseInternetPorts='Y':String"}));
  EXPECT_TRUE(HasVerbatim(p, "HKLM:\\SOFTWARE\\Microsoft\\Rpc\\Internet"));
  EXPECT_TRUE(HasVerbatim(p, "MSSQL$SQLEXPRESS"));  // the service, $ inside single quotes
  EXPECT_TRUE(HasVerbatim(p, "MSSQLSERVER"));
  EXPECT_TRUE(HasVerbatim(p, "Server=tcp:WIN-SQL01,41433"));
  // The restart only under -Restart, through ShouldProcess: one helper, called for each
  // instance whose port changed, for DFSR and for WMI.
  const auto restart = p.Named("Restart-Service");
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0].Arg("-Name"), "$Name");
  EXPECT_NE(script.find("  if ($Restart) {\n    if ($PSCmdlet.ShouldProcess($Name, 'Restart-Service')) { Restart-Service"),
            std::string::npos);
  std::vector<std::string> restarted;
  for (const test::PsCommand& c : p.Named("Restart-BerthService")) restarted.push_back(c.Arg("-Name"));
  EXPECT_EQ(restarted, (std::vector<std::string>{"$sqlService", "$sqlService", "'DFSR'", "'Winmgmt'"}));
  EXPECT_NE(script.find("if ($changed) { Restart-BerthService -Name $sqlService"), std::string::npos);

  // DFSR: read back through its WMI provider, dfsrdiag's presence checked, then StaticRPC.
  const auto dfsrdiag = p.Named("dfsrdiag.exe");
  ASSERT_EQ(dfsrdiag.size(), 1u);
  EXPECT_EQ(dfsrdiag[0].elements, (std::vector<std::string>{"StaticRPC", "'/port:38903'",
                                                           "('/Member:{0}' -f $env:COMPUTERNAME)"}));
  EXPECT_TRUE(HasVerbatim(p, "root\\MicrosoftDFS"));
  EXPECT_TRUE(HasVerbatim(p, "DfsrMachineConfig"));
  ASSERT_EQ(p.Named("Get-Command").size(), 1u);
  EXPECT_EQ(p.Named("Get-Command")[0].Arg("-Name"), "'dfsrdiag.exe'");
  // WMI: winmgmt /standalonehost unless Winmgmt is its own process already.
  ASSERT_EQ(p.Named("winmgmt.exe").size(), 1u);
  EXPECT_EQ(p.Named("winmgmt.exe")[0].elements, (std::vector<std::string>{"/standalonehost"}));
  EXPECT_TRUE(HasVerbatim(p, "Name = 'Winmgmt'"));
  EXPECT_NE(script.find("$wmiService.ServiceType -eq 'Own Process'"), std::string::npos);

  // netsh: the dynamic range within its limits, one exclusion per registered port in it.
  const auto dyn = p.Named("Set-BerthDynamicRange");
  ASSERT_EQ(dyn.size(), 1u);
  EXPECT_EQ(dyn[0].Arg("-Start"), "49152");
  EXPECT_EQ(dyn[0].Arg("-Count"), "16384");
  const auto excl = p.Named("Add-BerthExcludedPort");
  ASSERT_EQ(excl.size(), 2u);
  EXPECT_EQ(excl[0].Arg("-Port"), "50500");
  EXPECT_EQ(excl[1].Arg("-Port"), "50501");
  EXPECT_EQ(script.find("start=5000"), std::string::npos);
  std::vector<std::string> netsh_verbs;
  for (const test::PsCommand& c : p.Named("netsh.exe")) netsh_verbs.push_back(c.elements.at(2) + " " + c.elements.at(3));
  EXPECT_EQ(netsh_verbs, (std::vector<std::string>{"show dynamicport", "set dynamicport", "show excludedportrange",
                                                   "add excludedportrange", "show dynamicport",
                                                   "show excludedportrange"}));

  // Firewall: exactly the registered ports, the RPC block and 135, in one group.
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].Arg("-Protocol"), "TCP");
  EXPECT_EQ(rules[0].Arg("-LocalPort"), "'135','1433','5000-5255','41433'");
  EXPECT_EQ(rules[0].Arg("-Group"), "$ruleGroup");
  EXPECT_EQ(rules[1].Arg("-LocalPort"), "'5353'");
  // Legacy rules: matched by exact name, removed only with -RemoveLegacy.
  EXPECT_TRUE(HasVerbatim(p, "{5A1C3F2E-0B7D-4C2A-9E51-6D3F1B2A7C44}"));
  EXPECT_NE(script.find("if ($RemoveLegacy)"), std::string::npos);
  EXPECT_EQ(p.Named("Remove-NetFirewallRule").size(), 2u);  // the berth group's, the legacy one
  // Read-back and the reboot said plainly.
  EXPECT_NE(script.find("REBOOT REQUIRED"), std::string::npos);
  EXPECT_GE(p.Named("Get-NetTCPConnection").size(), 1u);
}

TEST(WindowsRemedy, NothingToDoStillParses) {
  REQUIRE_GRAMMAR();
  WindowsRemedyPlan plan;
  plan.host = "W1";
  plan.group = "win";
  const PsParse p = ParsePowerShell(Render([&](const Sink& s) { RenderWindowsRemedy(plan, s); }));
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.Named("New-NetFirewallRule").empty());
  EXPECT_TRUE(p.Named("Set-BerthRegistryValue").empty());
}

// Every corpus entry as the host name, the group, an instance name and id, a rule's name and
// display name: the tree has the benign plan's shape, and every literal is closed by
// PowerShell's rule (the grammar knows only the ASCII quote).
TEST(WindowsRemedy, HostileNamesStayInertOnTheParseTree) {
  REQUIRE_GRAMMAR();
  const std::string benign_shape =
      ParsePowerShell(Render([&](const Sink& s) { RenderWindowsRemedy(SamplePlan(), s); })).shape;
  ASSERT_FALSE(benign_shape.empty());
  for (const std::string& evil : test::HostileCorpus("/tmp/berth-pwned")) {
    WindowsRemedyPlan plan = SamplePlan();
    plan.host = evil;
    plan.group = evil;
    plan.sql[0].instance = evil;
    plan.sql[0].id = evil;
    plan.sql[0].service = evil;
    plan.legacy[0].name = evil;
    plan.legacy[0].display_name = evil;
    plan.legacy[0].local_port = evil;
    for (WindowsRemedyPlan::RpcPin& pin : plan.rpc_pins) pin.service = evil;
    const std::string script = Render([&](const Sink& s) { RenderWindowsRemedy(plan, s); });
    const PsParse p = ParsePowerShell(script);
    ASSERT_TRUE(p.ok) << p.error << "\nentry: " << evil;
    EXPECT_EQ(p.shape, benign_shape) << "entry: " << evil;
    for (const std::string& token : p.verbatim) {
      EXPECT_TRUE(test::VerbatimClosedForPowerShell(token)) << token;
    }
    // The hostile text reached the script only as data: the host check compares with it.
    EXPECT_TRUE(HasVerbatim(p, UnquoteVerbatim(PowerShellQuote(evil)))) << evil;
  }
}

// An instance known from a berth probe document has no id: the script looks it up on the host
// (Instance Names\SQL) and sets IPAll under it, and a hostile instance name stays one literal
// there too.
TEST(WindowsRemedy, AnInstanceWithoutAnIdIsLookedUpOnTheHost) {
  REQUIRE_GRAMMAR();
  WindowsRemedyPlan plan;
  plan.host = "SQL1";
  plan.group = "win";
  plan.sql.push_back({"SQLEXPRESS", "", "mssql.sqlexpress", 21433, true});
  const std::string script = Render([&](const Sink& s) { RenderWindowsRemedy(plan, s); });
  const PsParse p = ParsePowerShell(script);
  ASSERT_TRUE(p.ok) << p.error << "\n" << script;
  EXPECT_TRUE(HasVerbatim(p, "HKLM:\\SOFTWARE\\Microsoft\\Microsoft SQL Server\\Instance Names\\SQL"));
  EXPECT_TRUE(HasVerbatim(p, "SQLEXPRESS"));
  EXPECT_NE(script.find("$sqlNames.PSObject.Properties['SQLEXPRESS']"), std::string::npos) << script;
  std::vector<std::string> set;
  for (const test::PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    set.push_back(c.Arg("-Key") + " " + UnquoteVerbatim(c.Arg("-Name")) + "=" + c.Arg("-Value"));
  }
  EXPECT_EQ(set, (std::vector<std::string>{"$sqlKey TcpPort='21433'", "$sqlKey TcpDynamicPorts=''"}));
  const std::string shape = p.shape;
  for (const std::string& evil : test::HostileCorpus("/tmp/berth-pwned")) {
    plan.sql[0].instance = evil;
    const PsParse hostile = ParsePowerShell(Render([&](const Sink& s) { RenderWindowsRemedy(plan, s); }));
    ASSERT_TRUE(hostile.ok) << hostile.error << "\nentry: " << evil;
    EXPECT_EQ(hostile.shape, shape) << "entry: " << evil;
    for (const std::string& token : hostile.verbatim) {
      EXPECT_TRUE(test::VerbatimClosedForPowerShell(token)) << token;
    }
    EXPECT_TRUE(HasVerbatim(hostile, UnquoteVerbatim(PowerShellQuote(evil)))) << evil;
  }
}

// berth firewall --format powershell: every rule parses, lists are lists of literals, and a
// hostile service name or description stays one literal.
TEST(WindowsFirewall, RulesParseAndHostileNamesStayInert) {
  REQUIRE_GRAMMAR();
  auto script = [](std::string_view name, std::string_view description) {
    std::vector<Service> services(2);
    services[0].name = std::string(name);
    services[0].port = 1433;
    services[0].proto = ServiceProto::kTcp;
    services[0].group = "default";
    services[0].description = std::string(description);
    services[0].sources = {"10.0.0.0/8", "192.168.1.0/24"};
    services[1].name = "dns";
    services[1].port = 53;
    services[1].proto = ServiceProto::kBoth;
    services[1].group = "default";
    FirewallOptions options;
    options.allow = PortSet{{22, 22}, {3389, 3389}, {5985, 5986}};
    std::string out;
    auto r = RenderFirewall(FirewallFormat::kPowershell, services, options,
                            [&](std::string_view s) { out += s; });
    EXPECT_TRUE(r) << r.error().message;
    return out;
  };
  const PsParse benign = ParsePowerShell(script("mssql.instance1", "orders"));
  ASSERT_TRUE(benign.ok) << benign.error << "\n" << script("mssql.instance1", "orders");
  const auto rules = benign.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 5u);  // dns tcp and udp, mssql tcp, the allow list tcp and udp
  EXPECT_EQ(rules[2].Arg("-RemoteAddress"), "'10.0.0.0/8','192.168.1.0/24'");  // by name: dns first
  EXPECT_EQ(rules[3].Arg("-LocalPort"), "'22','3389','5985-5986'");
  const auto profile = benign.Named("Set-NetFirewallProfile");
  ASSERT_EQ(profile.size(), 1u);
  EXPECT_EQ(profile[0].Arg("-Profile"), "'Domain','Private','Public'");
  for (const std::string& evil : test::HostileCorpus("/tmp/berth-pwned")) {
    // A name must pass ValidateServiceName; a description is free text.
    const std::string text = script("mssql.instance1", evil);
    const PsParse p = ParsePowerShell(text);
    ASSERT_TRUE(p.ok) << p.error << "\nentry: " << evil;
    EXPECT_EQ(p.shape, benign.shape) << "entry: " << evil;
  }
}

}  // namespace
}  // namespace berth
