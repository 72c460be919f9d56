// Windows hosts through the real binary (docs/windows.md): the collector script parses; a
// collected host (PowerShell 7's UTF-8 and 5.1's UTF-16LE) is scanned with exact findings;
// its observations land in the store under its computer name and show in `berth show`; the
// remedy claims each SQL Server instance's port through the registry and writes a script the
// PowerShell grammar parses, refusing an RPC block that breaks a rule.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "emit/hostile_corpus.h"
#include "support/powershell_tree.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

std::string Fixture(const std::string& name) { return std::string(BERTH_FIXTURES) + "/windows/" + name; }

class WindowsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-win-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/registry.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  CommandResult Berth(std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db_});
    return RunBerth(args);
  }
  std::string dir_, db_;
};

// id subject proto ports, one line per finding, as berth scan --json lists them.
std::vector<std::string> FindingLines(const std::string& json_text) {
  const auto doc = nlohmann::json::parse(json_text);
  std::vector<std::string> out;
  for (const auto& f : doc.at("findings")) {
    std::string ports;
    for (const auto& p : f.at("ports")) ports += (ports.empty() ? "" : ",") + p.dump();
    out.push_back(f.at("id").get<std::string>() + " | " + f.at("subject").get<std::string>() + " | " +
                  (f.at("proto").is_null() ? "-" : f.at("proto").get<std::string>()) + " | " + ports);
  }
  return out;
}

const std::vector<std::string> kWinSql01Findings = {
    "port-mapper | svchost (pid 1012) | tcp | 135",
    "port-mapper | sqlbrowser (pid 2900) | udp | 1434",
    "sql-dynamic-port | SQL Server instance SQLEXPRESS (MSSQL16.SQLEXPRESS) | tcp | 49703",
    "ephemeral-listener | wininit (pid 560) | tcp | 49665",
    "mapped-service | lsass (pid 700) | tcp | 49664",
    "ephemeral-listener | svchost (pid 1400) | tcp | 49668",
    "mapped-service | sqlservr (pid 3240) | tcp | 49703",
    "ephemeral-listener | myapp (pid 4200) | tcp | 50500",
    "firewall-broad-rule | firewall rule 'SQL Dynamic Ports' ({5A1C3F2E-0B7D-4C2A-9E51-6D3F1B2A7C44}) | tcp | ",
    "ephemeral-listener | svchost (pid 1300) | udp | 58000",
};

TEST_F(WindowsCli, CollectorScriptParsesAndJsonCarriesIt) {
  auto script = RunBerth({"collect", "--format", "powershell"});
  ASSERT_EQ(script.exit_code, 0) << script.err;
  EXPECT_TRUE(script.out.starts_with("# berth collector for Windows hosts"));
  auto as_json = RunBerth({"collect", "--format", "powershell", "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto doc = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(doc.at("schema"), "berth.collect/1");
  EXPECT_EQ(doc.at("output_schema"), "berth.windows/1");
  EXPECT_EQ(doc.at("script"), script.out);
  EXPECT_EQ(RunBerth({"collect", "--format", "bash"}).exit_code, 2);
  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(script.out);
  EXPECT_TRUE(p.ok) << p.error;
}

TEST_F(WindowsCli, ScanOfACollectedHostHasExactFindingsInBothEncodings) {
  for (const char* file : {"ps7-collector.json", "ps51-collector-utf16.json"}) {
    auto r = RunBerth({"scan", "--from", Fixture(file), "--json", "--no-registry"});
    EXPECT_EQ(r.exit_code, 1) << file << ": " << r.err;  // warnings: --fail-on warning
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("host").at("hostname"), "WIN-SQL01");
    EXPECT_EQ(FindingLines(r.out), kWinSql01Findings) << file;
  }
  // berth scan --json of a collected host reads back as a recorded host (fds unknown: null).
  auto as_json = RunBerth({"scan", "--from", Fixture("ps7-collector.json"), "--json", "--no-registry"});
  const std::string saved = dir_ + "/win-scan.json";
  {
    std::ofstream out(saved);
    out << as_json.out;
  }
  EXPECT_NE(as_json.out.find("\"fd\":null"), std::string::npos);
  auto replay = RunBerth({"scan", "--from", saved, "--json", "--no-registry"});
  EXPECT_NE(replay.exit_code, 2) << replay.err;
  EXPECT_EQ(nlohmann::json::parse(replay.out).at("sockets").size(), 13u);
  // Each fix that names the remedy names this file, quoted for the shell.
  auto text = RunBerth({"scan", "--from", Fixture("ps7-collector.json"), "--no-registry"});
  EXPECT_NE(text.out.find("berth remedy --format powershell --from '" + Fixture("ps7-collector.json") + "'"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find("start=5000"), std::string::npos);
}

// A domain controller that is also a DFS Replication member, WMI in a shared svchost
// (tests/fixtures/windows/make-fixtures.py, dc()): dfsrs and the svchost hosting Winmgmt sit
// on dynamic ports behind the live endpoint mapper, so each is a mapped-service whose fix is
// its own pin (dfsrdiag StaticRPC; winmgmt /standalonehost on 24158), not the RPC block's
// ephemeral-listener; Schedule's svchost, which hosts neither, stays an ephemeral-listener.
const std::vector<std::string> kWinDc01Findings = {
    "port-mapper | svchost (pid 1012) | tcp | 135",
    "port-mapper | sqlbrowser (pid 2900) | udp | 1434",
    "sql-dynamic-port | SQL Server instance SQLEXPRESS (MSSQL16.SQLEXPRESS) | tcp | 49703",
    "ephemeral-listener | wininit (pid 560) | tcp | 49665",
    "mapped-service | lsass (pid 700) | tcp | 49664",
    "ephemeral-listener | svchost (pid 1400) | tcp | 49668",
    "mapped-service | sqlservr (pid 3240) | tcp | 49703",
    "ephemeral-listener | myapp (pid 4200) | tcp | 50500",
    "mapped-service | dfsrs (pid 1700) | tcp | 49670",
    "mapped-service | svchost (pid 1500) | tcp | 49672,49680",
    "firewall-broad-rule | firewall rule 'SQL Dynamic Ports' ({5A1C3F2E-0B7D-4C2A-9E51-6D3F1B2A7C44}) | tcp | ",
    "ephemeral-listener | svchost (pid 1300) | udp | 58000",
};

TEST_F(WindowsCli, ScanOfADcWithDfsrAndWmiHasExactFindingsInBothEncodings) {
  for (const char* file : {"ps7-dc-dfsr-wmi.json", "ps51-dc-dfsr-wmi-utf16.json"}) {
    auto r = RunBerth({"scan", "--from", Fixture(file), "--json", "--no-registry"});
    EXPECT_EQ(r.exit_code, 1) << file << ": " << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("host").at("hostname"), "WIN-DC01");
    EXPECT_EQ(FindingLines(r.out), kWinDc01Findings) << file << "\n" << r.out;
    std::map<std::string, std::string> fix;
    for (const auto& f : doc.at("findings")) {
      if (f.at("id") == "mapped-service") fix[f.at("subject").get<std::string>()] = f.at("fix").get<std::string>();
    }
    const std::string remedy = "berth remedy --format powershell --from '" + Fixture(file) + "'";
    EXPECT_EQ(fix["dfsrs (pid 1700)"],
              "pin it: dfsrdiag StaticRPC /port:PORT /Member:THIS-SERVER with a port claimed in the registry "
              "(berth assign msrpc.dfsr); the script printed by the command below claims the port and pins it: " +
                  remedy)
        << file;
    EXPECT_EQ(fix["svchost (pid 1500)"],
              "run WMI in its own host on its fixed port 24158: winmgmt /standalonehost, then restart the "
              "Winmgmt service (its firewall rule: TCP 24158); the script printed by the command below claims "
              "the port and pins it: " +
                  remedy)
        << file;
  }
}

TEST_F(WindowsCli, BrokenCollectionIsRefusedWithExit2) {
  const std::string bad = dir_ + "/cut.json";
  {
    std::ofstream out(bad);
    out << R"({"Schema":"berth.windows/1","ComputerName":"W","SqlInstances":"@{Name=X}"})";
  }
  auto r = RunBerth({"scan", "--from", bad, "--no-registry"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cut by ConvertTo-Json's -Depth"), std::string::npos) << r.err;
}

// The default group holds the services of the machine berth runs on: a Windows host that no
// group lists is not judged by them (no unregistered-listener telling it to widen "default").
TEST_F(WindowsCli, TheDefaultGroupDoesNotSpeakForACollectedHost) {
  ASSERT_EQ(Berth({"assign", "web"}).exit_code, 0);
  auto scan = Berth({"scan", "--from", Fixture("ps7-collector.json"), "--json"});
  ASSERT_EQ(scan.exit_code, 1) << scan.err;
  EXPECT_EQ(FindingLines(scan.out), kWinSql01Findings);
  // Once a group lists it, that group's registry findings apply.
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "mssql.mssqlserver", "--port", "1433", "--allow-iana", "--group", "win"}).exit_code, 0);
  auto again = Berth({"scan", "--from", Fixture("ps7-collector.json"), "--json"});
  bool unregistered_445 = false;
  for (const std::string& line : FindingLines(again.out)) {
    if (line.starts_with("unregistered-listener | System (pid 4) | tcp | 445")) unregistered_445 = true;
    EXPECT_FALSE(line.find("(pid 3100)") != std::string::npos) << "1433 is registered: " << line;
  }
  EXPECT_TRUE(unregistered_445) << again.out;
}

TEST_F(WindowsCli, ObservationsLandInTheStoreAndShow) {
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01", "--ephemeral", "49152-65535"}).exit_code, 0);
  auto assign = Berth({"assign", "mssql.mssqlserver", "--port", "1433", "--allow-iana", "--group", "win"});
  ASSERT_EQ(assign.exit_code, 0) << assign.err;
  auto scan = Berth({"scan", "--from", Fixture("ps51-collector-utf16.json"), "--json"});
  ASSERT_NE(scan.exit_code, 2) << scan.err;
  auto show = Berth({"show", "mssql.mssqlserver", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto doc = nlohmann::json::parse(show.out);
  ASSERT_EQ(doc.at("observations").size(), 1u) << show.out;
  const auto& seen = doc.at("observations")[0];
  EXPECT_EQ(seen.at("host"), "WIN-SQL01");
  EXPECT_EQ(seen.at("port"), 1433);
  EXPECT_EQ(seen.at("proto"), "tcp");
  EXPECT_EQ(seen.at("command"), "sqlservr");
  EXPECT_EQ(seen.at("pid"), 3100);
  auto text = Berth({"show", "mssql.mssqlserver"});
  EXPECT_NE(text.out.find("WIN-SQL01"), std::string::npos) << text.out;
}

TEST_F(WindowsCli, RemedyClaimsThroughTheRegistryAndWritesAParsableScript) {
  // No group lists the host yet: refused, with the command that makes one.
  auto none = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json")});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("WIN-SQL01 is in no registry group"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("berth group add win"), std::string::npos) << none.err;

  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  const std::vector<std::string> remedy{"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"),
                                        "--host", "win-sql01", "--rpc-ports", "5000-5255"};
  auto r = Berth(remedy);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("REBOOT"), std::string::npos);
  // The block given alone is claimed as the group's range rpc.dynamic.
  EXPECT_NE(r.err.find("berth: claimed rpc.dynamic = 5000-5255/tcp in group win"), std::string::npos) << r.err;
  const auto rpc_claim = nlohmann::json::parse(Berth({"show", "rpc.dynamic", "--json"}).out);
  EXPECT_EQ(rpc_claim.at("port"), 5000);
  EXPECT_EQ(rpc_claim.at("size"), 256);
  EXPECT_EQ(rpc_claim.at("group"), "win");
  // The instances are registered now: the default one on 1433, the named one where the
  // allocator put it, never on 1434 or in the dynamic range.
  auto show = Berth({"show", "mssql.sqlexpress", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const int port = nlohmann::json::parse(show.out).at("port").get<int>();
  EXPECT_NE(port, 1434);
  EXPECT_LT(port, 49152);
  EXPECT_EQ(nlohmann::json::parse(Berth({"show", "mssql.mssqlserver", "--json"}).out).at("port"), 1433);
  // A domain controller (NTDS runs): replication and Netlogon claimed on ports of their own.
  const int drs = nlohmann::json::parse(Berth({"show", "msrpc.drsuapi", "--json"}).out).at("port").get<int>();
  const int netlogon = nlohmann::json::parse(Berth({"show", "msrpc.netlogon", "--json"}).out).at("port").get<int>();
  EXPECT_LT(drs, 49152);
  EXPECT_LT(netlogon, 49152);
  // Idempotent: a second run claims nothing new and writes the same script.
  auto again = Berth(remedy);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
  EXPECT_EQ(again.err.find("berth: claimed"), std::string::npos) << again.err;
  EXPECT_NE(r.err.find("berth: claimed mssql.sqlexpress = "), std::string::npos) << r.err;

  auto as_json = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"), "--json",
                     "--rpc-ports", "5000-5255"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto plan = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(plan.at("schema"), "berth.windows-remedy/1");
  EXPECT_EQ(plan.at("rpc_ports"), nlohmann::json::array({5000, 5255}));
  EXPECT_EQ(plan.at("sql")[1].at("connection_string"), "Server=tcp:WIN-SQL01," + std::to_string(port));
  EXPECT_EQ(plan.at("legacy_rules").size(), 1u);
  EXPECT_TRUE(plan.at("excluded_ports").empty());
  EXPECT_TRUE(plan.at("dynamic_range_moves").empty());
  EXPECT_EQ(plan.at("rpc_ports_claim"), "rpc.dynamic");

  // RPC blocks that break a rule, with no block claimed: each is refused before anything is
  // claimed, so rpc.dynamic stays unregistered.
  ASSERT_EQ(Berth({"release", "rpc.dynamic"}).exit_code, 0);
  for (const auto& [block, says] : std::vector<std::pair<std::string, std::string>>{
           {"50000-50255", "overlaps WIN-SQL01's tcp dynamic range"},
           {"5000-5050", "at least 100 ports"},
           {"100-300", "at least 100 ports from 1025"},
           {std::to_string(port - 10) + "-" + std::to_string(port + 200), "claimed by mssql.sqlexpress"}}) {
    auto bad = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"), "--rpc-ports", block});
    EXPECT_EQ(bad.exit_code, 2) << block;
    EXPECT_NE(bad.err.find(says), std::string::npos) << block << ": " << bad.err;
    EXPECT_EQ(Berth({"show", "rpc.dynamic"}).exit_code, 2) << block;
  }
  auto other = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"), "--host", "WIN2"});
  EXPECT_EQ(other.exit_code, 2);

  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(r.out);
  ASSERT_TRUE(p.ok) << p.error;
  bool pinned = false;
  for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    if (c.Arg("-Name") == "'TcpPort'" && c.Arg("-Value") == "'" + std::to_string(port) + "'") pinned = true;
  }
  EXPECT_TRUE(pinned) << r.out;
  std::vector<std::string> dwords;
  for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    if (c.Arg("-Type") == "'DWord'") dwords.push_back(c.Arg("-Key") + " " + c.Arg("-Name") + " " + c.Arg("-Value"));
  }
  EXPECT_EQ(dwords, (std::vector<std::string>{
                        "'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters' 'TCP/IP Port' " + std::to_string(drs),
                        "'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters' 'DCTcpipPort' " +
                            std::to_string(netlogon)}));
  // The dynamic range is fine as collected (49152-65535): nothing moves it.
  EXPECT_TRUE(p.Named("Set-BerthDynamicRange").empty());
  // myapp's 50500 is not registered: not excluded; nothing registered is in the range.
  EXPECT_TRUE(p.Named("Add-BerthExcludedPort").empty());
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 1u);
  std::set<int> open{135, 1433, port, drs, netlogon};
  std::string expected;
  bool block_done = false;
  for (int o : open) {
    if (!block_done && o > 5255) {
      expected += (expected.empty() ? "" : ",") + std::string("'5000-5255'");
      block_done = true;
    }
    expected += (expected.empty() ? "" : ",") + ("'" + std::to_string(o) + "'");
  }
  if (!block_done) expected += ",'5000-5255'";
  EXPECT_EQ(rules[0].Arg("-LocalPort"), expected);
}

// Without an RPC block (no --rpc-ports, no rpc.dynamic claim in the group) the script leaves
// RPC alone: Rpc\Internet is not written, and the firewall opens the registered ports but not
// TCP 135 (the endpoint mapper is opened only for a block whose ports it hands out).
TEST_F(WindowsCli, RemedyWithoutAnRpcBlockDoesNotOpen135) {
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  auto as_json = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"), "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto plan = nlohmann::json::parse(as_json.out);
  EXPECT_TRUE(plan.at("rpc_ports").is_null()) << as_json.out;
  std::set<int> tcp;
  for (const auto& r : plan.at("firewall").at("tcp")) {
    for (int p = r.at(0).get<int>(); p <= r.at(1).get<int>(); ++p) tcp.insert(p);
  }
  EXPECT_TRUE(tcp.contains(1433)) << as_json.out;
  EXPECT_FALSE(tcp.contains(135)) << as_json.out;
  for (const auto& r : plan.at("firewall").at("udp")) EXPECT_FALSE(r.at(0) <= 135 && 135 <= r.at(1)) << as_json.out;

  auto r = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(r.out);
  ASSERT_TRUE(p.ok) << p.error;
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_FALSE(rules.empty()) << r.out;
  for (const PsCommand& rule : rules) {
    const std::string ports = rule.Arg("-LocalPort");
    EXPECT_EQ(ports.find("'135'"), std::string::npos) << ports;
    EXPECT_EQ(ports.find("'135-"), std::string::npos) << ports;
  }
  EXPECT_NE(rules[0].Arg("-LocalPort").find("'1433'"), std::string::npos) << rules[0].Arg("-LocalPort");
  for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) EXPECT_NE(c.Arg("-Key"), "$rpcKey");
}

// Without --from there is nothing to remedy: the error says where a host comes from (the
// collector, or berth probe --json) and the command to run then (with --host when given),
// exit status 2, nothing on stdout, no store opened.
TEST_F(WindowsCli, RemedyWithoutFromSaysHowToGetTheHost) {
  auto r = Berth({"remedy", "--format", "powershell"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("berth remedy needs the collected host"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'berth collect --format powershell'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("berth probe --json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("then: berth remedy --format powershell --from FILE\n"), std::string::npos) << r.err;
  auto named = Berth({"remedy", "--format", "powershell", "--host", "WIN-SQL01; rm -rf ~"});
  EXPECT_EQ(named.exit_code, 2);
  EXPECT_NE(named.err.find("--from FILE --host 'WIN-SQL01; rm -rf ~'"), std::string::npos) << named.err;
  EXPECT_FALSE(std::filesystem::exists(db_)) << "no store opened, nothing claimed";
}

// The group's range claim (berth assign rpc.dynamic --size 256) is the RPC block: it lands
// in Rpc\Internet's Ports as one REG_MULTI_SZ item, and the firewall opens it once; a block
// asked for that is not the claim is refused.
TEST_F(WindowsCli, RemedyTakesTheRpcBlockFromTheGroupsRangeClaim) {
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  auto assigned = Berth({"assign", "rpc.dynamic", "--size", "256", "--group", "win", "--json"});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  const auto claim = nlohmann::json::parse(assigned.out);
  ASSERT_EQ(claim.at("size"), 256);
  const int low = claim.at("port").get<int>();
  const std::string block = std::to_string(low) + "-" + std::to_string(low + 255);

  auto r = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("the RPC block " + block + " is rpc.dynamic's range claim in group win"),
            std::string::npos)
      << r.err;
  auto as_json = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"), "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto plan = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(plan.at("rpc_ports"), nlohmann::json::array({low, low + 255}));
  EXPECT_EQ(plan.at("rpc_ports_claim"), "rpc.dynamic");
  // The claim itself, asked for again: the same script; another block: refused, nothing claimed.
  auto same = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"),
                     "--rpc-ports", block});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out, r.out);
  auto other = Berth({"remedy", "--format", "powershell", "--from", Fixture("ps7-collector.json"),
                      "--rpc-ports", "45000-45255"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("group win holds " + block + " for its RPC block (rpc.dynamic)"), std::string::npos)
      << other.err;
  EXPECT_NE(other.err.find("berth release rpc.dynamic"), std::string::npos) << other.err;

  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(r.out);
  ASSERT_TRUE(p.ok) << p.error;
  std::vector<std::string> rpc;
  for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    if (c.Arg("-Key") != "$rpcKey") continue;
    rpc.push_back(UnquoteVerbatim(c.Arg("-Name")) + "=" + c.Arg("-Value") + ":" + UnquoteVerbatim(c.Arg("-Type")));
  }
  EXPECT_EQ(rpc, (std::vector<std::string>{"Ports=@('" + block + "'):MultiString",
                                           "PortsInternetAvailable='Y':String",
                                           "UseInternetPorts='Y':String"}));
  EXPECT_TRUE(std::any_of(p.verbatim.begin(), p.verbatim.end(), [](const std::string& v) {
    return UnquoteVerbatim(v) == "HKLM:\\SOFTWARE\\Microsoft\\Rpc\\Internet";
  }));
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 1u);
  const std::string ports = rules[0].Arg("-LocalPort");
  EXPECT_NE(ports.find("'" + block + "'"), std::string::npos) << ports;
  EXPECT_NE(ports.find("'135'"), std::string::npos) << ports;
  EXPECT_EQ(ports.find("'" + std::to_string(low) + "'"), std::string::npos) << "the block once, as a range: " << ports;
}

// remedy --from a berth probe --json document: the SQL Server instances of the host named
// (by target, address or the computer name the Browser gave), claimed like a collected host's;
// their ids are looked up on the host by the script.
TEST_F(WindowsCli, RemedyFromAProbeDocumentPinsTheNamedHostsInstances) {
  const std::string probe = Fixture("probe-two-hosts.json");
  auto several = Berth({"remedy", "--format", "powershell", "--from", probe});
  EXPECT_EQ(several.exit_code, 2);
  EXPECT_NE(several.err.find("SQL Server instances of several hosts (SQL1, SQL2)"), std::string::npos) << several.err;
  EXPECT_NE(several.err.find("--host NAME"), std::string::npos) << several.err;
  auto nosuch = Berth({"remedy", "--format", "powershell", "--from", probe, "--host", "sql9"});
  EXPECT_EQ(nosuch.exit_code, 2);
  EXPECT_NE(nosuch.err.find("holds no SQL Server instance of sql9 (it holds SQL1, SQL2)"), std::string::npos)
      << nosuch.err;
  const std::string bogus = dir_ + "/bogus.json";
  std::ofstream(bogus) << R"({"schema": "berth.scan/2"})";
  auto neither = Berth({"remedy", "--format", "powershell", "--from", bogus});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("is neither a collected Windows host nor a berth probe --json document"),
            std::string::npos)
      << neither.err;

  ASSERT_EQ(Berth({"group", "add", "win", "--host", "SQL1"}).exit_code, 0);
  auto r = Berth({"remedy", "--format", "powershell", "--from", probe, "--host", "sql1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is a berth probe document: the script pins SQL1's SQL Server instances only"),
            std::string::npos)
      << r.err;
  // The static instance keeps its port (it listens there); the dynamic one gets the allocator's.
  EXPECT_EQ(nlohmann::json::parse(Berth({"show", "mssql.reporting", "--json"}).out).at("port"), 21533);
  const int port = nlohmann::json::parse(Berth({"show", "mssql.sqlexpress", "--json"}).out).at("port").get<int>();
  EXPECT_NE(port, 1434);
  EXPECT_LT(port, 49152);
  // The same host by its address: the same script.
  auto by_address = Berth({"remedy", "--format", "powershell", "--from", probe, "--host", "192.0.2.10"});
  ASSERT_EQ(by_address.exit_code, 0) << by_address.err;
  EXPECT_EQ(by_address.out, r.out);

  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(r.out);
  ASSERT_TRUE(p.ok) << p.error;
  std::vector<std::string> set;
  for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) {
    set.push_back(c.Arg("-Key") + " " + UnquoteVerbatim(c.Arg("-Name")) + "=" + c.Arg("-Value"));
  }
  EXPECT_EQ(set, (std::vector<std::string>{"$sqlKey TcpPort='" + std::to_string(port) + "'",
                                           "$sqlKey TcpDynamicPorts=''", "$sqlKey TcpPort='21533'",
                                           "$sqlKey TcpDynamicPorts=''"}));
  for (const char* instance : {"REPORTING", "SQLEXPRESS"}) {
    EXPECT_NE(r.out.find(std::string("$sqlNames.PSObject.Properties['") + instance + "']"), std::string::npos)
        << instance;
  }
  // Nothing the probe did not see: no dynamic range moved, no exclusion, no RPC block.
  EXPECT_TRUE(p.Named("Set-BerthDynamicRange").empty());
  EXPECT_TRUE(p.Named("Add-BerthExcludedPort").empty());
  EXPECT_EQ(r.out.find("Rpc\\Internet' -Name"), std::string::npos);
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_NE(rules[0].Arg("-LocalPort").find("'21533'"), std::string::npos) << rules[0].Arg("-LocalPort");
}

// The collected domain controller, also running DFS Replication and WMI (in the svchost it
// shares with Schedule, or alone with `standalone`), written where the remedy reads it.
std::string DcWithDfsrAndWmi(const std::string& dir, bool standalone) {
  std::ifstream in(Fixture("ps7-collector.json"), std::ios::binary);
  nlohmann::json doc = nlohmann::json::parse(in);
  doc["Processes"].push_back({{"Id", 1700}, {"ProcessName", "dfsrs"}});
  doc["Services"].push_back({{"Name", "DFSR"}, {"ProcessId", 1700}, {"State", "Running"}});
  if (standalone) {  // winmgmt /standalonehost ran: WMI alone in its svchost, on 24158
    doc["Processes"].push_back({{"Id", 1800}, {"ProcessName", "svchost"}});
    doc["Services"].push_back({{"Name", "Winmgmt"}, {"ProcessId", 1800}, {"State", "Running"}});
    doc["TcpListeners"].push_back(
        {{"LocalAddress", "0.0.0.0"}, {"LocalPort", 24158}, {"OwningProcess", 1800}, {"State", 2}});
  } else {
    doc["Services"].push_back({{"Name", "Winmgmt"}, {"ProcessId", 1400}, {"State", "Running"}});
  }
  const std::string file = dir + (standalone ? "/dc-standalone.json" : "/dc.json");
  std::ofstream(file, std::ios::binary) << doc.dump();
  return file;
}

// DFSR and WMI pinned individually (KB 154596): claimed in the host's group as msrpc.dfsr
// (placed) and msrpc.wmi (WMI's fixed 24158), written as dfsrdiag StaticRPC and winmgmt
// /standalonehost, each checked first, restarted only with -Restart, opened in the firewall,
// and shown by the read-back. 24158 held by another claim is refused before anything is
// claimed.
TEST_F(WindowsCli, RemedyPinsDfsrAndWmiOnPortsTheRegistryClaims) {
  const std::string dc = DcWithDfsrAndWmi(dir_, false);
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "legacy.app", "--port", "24158", "--group", "win"}).exit_code, 0);
  auto held = Berth({"remedy", "--format", "powershell", "--from", dc, "--rpc-ports", "5000-5255"});
  EXPECT_EQ(held.exit_code, 2);
  EXPECT_NE(held.err.find("Winmgmt runs on WIN-SQL01: its fixed port 24158/tcp (msrpc.wmi) is registered to "
                          "legacy.app in group win"),
            std::string::npos)
      << held.err;
  EXPECT_NE(held.err.find("berth release legacy.app"), std::string::npos) << held.err;
  for (const char* name : {"rpc.dynamic", "mssql.sqlexpress", "msrpc.dfsr", "msrpc.wmi"}) {
    EXPECT_EQ(Berth({"show", name}).exit_code, 2) << name << " claimed by a refused remedy";
  }
  ASSERT_EQ(Berth({"release", "legacy.app"}).exit_code, 0);

  auto r = Berth({"remedy", "--format", "powershell", "--from", dc, "--rpc-ports", "5000-5255"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("berth: claimed msrpc.wmi = 24158/tcp in group win"), std::string::npos) << r.err;
  const int dfsr = nlohmann::json::parse(Berth({"show", "msrpc.dfsr", "--json"}).out).at("port").get<int>();
  EXPECT_LT(dfsr, 49152);
  EXPECT_TRUE(dfsr < 5000 || dfsr > 5255) << dfsr;
  EXPECT_EQ(nlohmann::json::parse(Berth({"show", "msrpc.wmi", "--json"}).out).at("port"), 24158);
  auto as_json = Berth({"remedy", "--format", "powershell", "--from", dc, "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  std::vector<std::string> pins;
  const auto plan = nlohmann::json::parse(as_json.out);
  for (const auto& pin : plan.at("rpc_pins")) {
    pins.push_back(pin.at("service").get<std::string>() + " " + pin.at("method").get<std::string>() + " " +
                   pin.at("key").dump() + " " + std::to_string(pin.at("port").get<int>()));
  }
  ASSERT_EQ(pins.size(), 4u);
  EXPECT_EQ(pins[2], "msrpc.dfsr dfsrdiag null " + std::to_string(dfsr));
  EXPECT_EQ(pins[3], "msrpc.wmi winmgmt null 24158");

  if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
  const PsParse p = ParsePowerShell(r.out);
  ASSERT_TRUE(p.ok) << p.error;
  // DFSR: the static port read back first through its WMI provider, dfsrdiag's presence
  // checked (and the tools to install named), then dfsrdiag StaticRPC on this member.
  std::vector<std::string> cim;
  for (const PsCommand& c : p.Named("Get-CimInstance")) {
    cim.push_back(c.Arg("-Namespace") + " " + c.Arg("-ClassName") + " " + c.Arg("-Filter"));
  }
  const std::string dfsr_cim = "'root\\MicrosoftDFS' 'DfsrMachineConfig' ";
  const std::string wmi_cim = " 'Win32_Service' 'Name = ''Winmgmt'''";
  EXPECT_EQ(cim, (std::vector<std::string>{dfsr_cim, wmi_cim, dfsr_cim, wmi_cim})) << "check, check, read-back x2";
  const auto tool = p.Named("Get-Command");
  ASSERT_EQ(tool.size(), 1u);
  EXPECT_EQ(tool[0].Arg("-Name"), "'dfsrdiag.exe'");
  EXPECT_NE(r.out.find("Install-WindowsFeature -Name RSAT-DFS-Mgmt-Con"), std::string::npos);
  const auto dfsrdiag = p.Named("dfsrdiag.exe");
  ASSERT_EQ(dfsrdiag.size(), 1u);
  EXPECT_EQ(dfsrdiag[0].elements, (std::vector<std::string>{"StaticRPC", "'/port:" + std::to_string(dfsr) + "'",
                                                           "('/Member:{0}' -f $env:COMPUTERNAME)"}));
  EXPECT_NE(r.out.find("[int]$dfsrConfig.RpcPortAssignment -eq " + std::to_string(dfsr) + ")"), std::string::npos);
  // WMI: winmgmt /standalonehost unless the service is already its own process.
  const auto winmgmt = p.Named("winmgmt.exe");
  ASSERT_EQ(winmgmt.size(), 1u);
  EXPECT_EQ(winmgmt[0].elements, (std::vector<std::string>{"/standalonehost"}));
  EXPECT_NE(r.out.find("$wmiService.ServiceType -eq 'Own Process'"), std::string::npos);
  // Restarted only under -Restart (the script's one Restart-Service, gated by it and by
  // ShouldProcess), and only once the command ran, itself under ShouldProcess.
  std::vector<std::string> restarts;
  for (const PsCommand& c : p.Named("Restart-BerthService")) restarts.push_back(c.Arg("-Name"));
  EXPECT_EQ(restarts, (std::vector<std::string>{"$sqlService", "$sqlService", "'DFSR'", "'Winmgmt'"}));
  ASSERT_EQ(p.Named("Restart-Service").size(), 1u);
  for (const char* gate : {"if ($Restart) {\n    if ($PSCmdlet.ShouldProcess($Name, 'Restart-Service'))",
                           "elseif ($PSCmdlet.ShouldProcess('DFSR', 'dfsrdiag StaticRPC /port:",
                           "elseif ($PSCmdlet.ShouldProcess('Winmgmt', 'winmgmt /standalonehost'))"}) {
    EXPECT_NE(r.out.find(gate), std::string::npos) << gate;
  }
  // Pinned before the RPC block (KB 154596), and opened in the firewall.
  EXPECT_LT(r.out.find("& winmgmt.exe"), r.out.find("$rpcKey = "));
  const auto rules = p.Named("New-NetFirewallRule");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_NE(rules[0].Arg("-LocalPort").find("'24158'"), std::string::npos) << rules[0].Arg("-LocalPort");
  EXPECT_NE(rules[0].Arg("-LocalPort").find("'" + std::to_string(dfsr) + "'"), std::string::npos);
  // The read-back shows every pin: the NTDS and Netlogon values too.
  std::vector<std::string> read;
  for (const PsCommand& c : p.Named("Select-Object")) read.push_back(c.Arg("-Property"));
  for (const char* shown : {"'TCP/IP Port'", "'DCTcpipPort'", "'RpcPortAssignment'"}) {
    EXPECT_NE(std::find(read.begin(), read.end(), shown), read.end()) << shown;
  }
}

// WMI already standalone on 24158 (its own svchost listens there): the port is adopted for
// msrpc.wmi; another program on 24158 is a conflict, named.
TEST_F(WindowsCli, RemedyAdoptsWmisPortWhenWmiAlreadyListensThere) {
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "WIN-SQL01"}).exit_code, 0);
  auto r = Berth({"remedy", "--format", "powershell", "--from", DcWithDfsrAndWmi(dir_, true)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(Berth({"show", "msrpc.wmi", "--json"}).out).at("port"), 24158);

  std::ifstream in(DcWithDfsrAndWmi(dir_, false), std::ios::binary);
  nlohmann::json doc = nlohmann::json::parse(in);
  doc["TcpListeners"].push_back({{"LocalAddress", "0.0.0.0"}, {"LocalPort", 24158}, {"OwningProcess", 4100}, {"State", 2}});
  const std::string foreign = dir_ + "/foreign.json";
  std::ofstream(foreign, std::ios::binary) << doc.dump();
  ASSERT_EQ(Berth({"release", "msrpc.wmi"}).exit_code, 0);
  auto refused = Berth({"remedy", "--format", "powershell", "--from", foreign});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("Winmgmt runs on WIN-SQL01: its fixed port 24158/tcp (msrpc.wmi) is held "
                             "there by nginx (pid 4100"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(Berth({"show", "msrpc.wmi"}).exit_code, 2);
}

::testing::AssertionResult TerminalClean(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) return ::testing::AssertionFailure() << "invalid UTF-8 at byte " << i;
    if ((cp < 0x20 && cp != '\n') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return ::testing::AssertionFailure() << "control character at byte " << i << " in:\n"
                                           << s.substr(i > 80 ? i - 80 : 0, 160);
    }
    i += n;
  }
  return ::testing::AssertionSuccess();
}

// The hostile corpus as every name a collected host carries (computer, processes, services,
// SQL instances and ids, firewall rules): the scan's text never hands the terminal a control
// character, and the remedy script parses with every literal closed.
TEST_F(WindowsCli, HostileNamesInACollectedHostStayInert) {
  const std::vector<std::string> corpus = HostileCorpus(dir_ + "/pwned");
  ASSERT_EQ(Berth({"group", "add", "win"}).exit_code, 0);
  for (std::size_t k = 0; k < corpus.size(); k += 4) {
    nlohmann::json doc = {{"Schema", "berth.windows/1"}, {"ComputerName", corpus[k]}};
    for (std::size_t i = 0; i < corpus.size(); ++i) {
      const int pid = 1000 + static_cast<int>(i);
      doc["TcpListeners"].push_back({{"LocalAddress", "0.0.0.0"}, {"LocalPort", 50000 + i}, {"OwningProcess", pid}, {"State", 2}});
      doc["Processes"].push_back({{"Id", pid}, {"ProcessName", corpus[i]}});
      if (corpus[i].find(',') == std::string::npos) {
        doc["Services"].push_back({{"Name", corpus[i]}, {"ProcessId", pid}, {"State", "Running"}});
      }
      doc["SqlInstances"].push_back({{"Name", corpus[i]}, {"Id", corpus[i]}, {"TcpPort", ""}, {"TcpDynamicPorts", "0"}});
      doc["FirewallRules"].push_back({{"Name", corpus[i]}, {"DisplayName", corpus[i]}, {"Enabled", 1}, {"Direction", 1},
                                      {"Action", 2}, {"Protocol", "TCP"}, {"LocalPort", {"49152-65535"}}});
    }
    // A domain controller with DFSR and WMI, hosted by processes with hostile names: every
    // RPC pin is written too.
    for (const auto& [service, pid] : std::vector<std::pair<std::string, int>>{{"NTDS", 1000}, {"DFSR", 1001}, {"Winmgmt", 1002}}) {
      doc["Services"].push_back({{"Name", service}, {"ProcessId", pid}, {"State", "Running"}});
    }
    const std::string file = dir_ + "/hostile.json";
    {
      std::ofstream out(file, std::ios::binary);
      out << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    auto scan = Berth({"scan", "--from", file});
    EXPECT_EQ(scan.exit_code, 1) << scan.err;
    EXPECT_TRUE(TerminalClean(scan.out + scan.err)) << "computer name #" << k;
    auto remedy = Berth({"remedy", "--format", "powershell", "--from", file, "--group", "win"});
    ASSERT_EQ(remedy.exit_code, 0) << remedy.err;
    EXPECT_TRUE(TerminalClean(remedy.err));
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned"));
    if (!HavePowerShellGrammar()) BERTH_MISSING_PEER("the PowerShell grammar is missing (scripts/install-deps test)");
    const PsParse p = ParsePowerShell(remedy.out);
    ASSERT_TRUE(p.ok) << p.error;
    for (const std::string& token : p.verbatim) EXPECT_TRUE(VerbatimClosedForPowerShell(token)) << token;
    // No command but the script's own: nothing injected runs.
    const std::set<std::string> allowed{
        "Test-Path", "Get-ItemProperty", "New-Item", "Out-Null", "New-ItemProperty", "Set-StrictMode", "throw",
        "netsh.exe", "Write-Warning", "Write-Host", "Restart-Service", "Get-NetFirewallRule", "Remove-NetFirewallRule",
        "New-NetFirewallRule", "Where-Object", "Select-Object", "Format-List", "Out-String", "Format-Table",
        "Sort-Object", "Get-NetTCPConnection", "Get-Process", "Get-NetFirewallPortFilter", "Set-BerthRegistryValue",
        "Set-BerthDynamicRange", "Add-BerthExcludedPort", "Get-CimInstance", "Get-Command", "dfsrdiag.exe",
        "winmgmt.exe", "Restart-BerthService"};
    for (const PsCommand& c : p.commands) EXPECT_TRUE(allowed.contains(c.name)) << "command " << c.name;
    EXPECT_EQ(p.Named("dfsrdiag.exe").size(), 1u);
    EXPECT_EQ(p.Named("winmgmt.exe").size(), 1u);
    std::size_t dwords = 0;
    for (const PsCommand& c : p.Named("Set-BerthRegistryValue")) dwords += c.Arg("-Type") == "'DWord'" ? 1 : 0;
    EXPECT_EQ(dwords, 2u) << "NTDS, Netlogon";
  }
}

}  // namespace
}  // namespace berth::test
