// berth probe --mssql against the test SSRP responder (tests/integration/peers/
// ssrp_responder.py, answering with bytes captured from real exchanges) in a private network
// namespace, cross-checked with FreeTDS (`tsql -H 127.0.0.1 -L`) on the same responder.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "probe/probe_peer.h"
#include "registry/sqlite_store.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

using berth::test::Netns;
using Instance = std::tuple<std::string, std::string, int>;  // server, version, tcp port

std::map<std::string, Instance> TsqlInstances(const Netns& ns) {
  auto r = ns.Exec({"tsql", "-H", "127.0.0.1", "-L"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, Instance> out;
  std::string server, instance, version;
  int port = 0;
  auto flush = [&] {
    if (!instance.empty()) out[instance] = {server, version, port};
    server.clear(), instance.clear(), version.clear(), port = 0;
  };
  std::istringstream in(r.err + r.out);  // tsql -L prints the list on stderr
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key == "error:") continue;
    if (key == "ServerName") {
      flush();
      server = value;
    } else if (key == "InstanceName") {
      instance = value;
    } else if (key == "Version") {
      version = value;
    } else if (key == "tcp") {
      port = std::stoi(value);
    }
  }
  flush();
  return out;
}

std::string RegistryPath(const Netns& ns) { return ::testing::TempDir() + "/berth-probe-" + ns.name() + ".db"; }

struct BerthRun {
  int exit_code = -1;
  nlohmann::json host;
};

BerthRun Probe(const Netns& ns, std::vector<std::string> extra = {}) {
  // The namespace's own registry file (empty unless the test fills it): proposals depend on
  // nothing outside the test.
  std::vector<std::string> argv{berth::test::BerthBinary(), "probe", "--mssql", "--json", "--timeout", "0.5",
                                "--db", RegistryPath(ns)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("127.0.0.1");
  auto r = ns.Exec(argv);
  BerthRun run{r.exit_code, {}};
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  if (!doc.is_discarded() && !doc["hosts"].empty()) run.host = doc["hosts"][0];
  return run;
}

class ProbeSsrpPeer : public ::testing::TestWithParam<bool> {};

TEST_P(ProbeSsrpPeer, MatchesFreeTdsOnTheSameResponder) {
  BERTH_REQUIRE_ROOT();
  for (const char* p : {"tsql", "python3"}) {
    if (!test::HaveProgram(p)) BERTH_MISSING_PEER(p << " missing: run scripts/install-deps test");
  }
  const bool tcp_first = GetParam();
  auto ns = Netns::Create(tcp_first ? "ssrp-tcp" : "ssrp-np");
  ASSERT_TRUE(ns);
  struct RemoveDb {
    std::string path;
    ~RemoveDb() {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
  } remove_db{RegistryPath(*ns)};
  std::vector<std::string> argv{"ip", "netns", "exec", ns->name(), "python3",
                                std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/ssrp_responder.py",
                                std::string(BERTH_FIXTURES) + "/probe", "127.0.0.1", "--listen"};
  if (tcp_first) argv.push_back("--tcp-first");
  berth::test::Child responder = berth::test::Child::Exec(argv);
  ASSERT_TRUE(test::WaitFor([&] { return !ns->Exec({"ss", "-Hlun", "sport = :1434"}).out.empty(); }, 5));

  const auto tsql = TsqlInstances(*ns);
  ASSERT_EQ(tsql.size(), 2u);
  BerthRun run = Probe(*ns);
  EXPECT_EQ(run.exit_code, 1) << "SQLEXPRESS sits on a dynamic port";
  std::map<std::string, Instance> ours;
  bool saw_dac = false;
  for (const auto& s : run.host["services"]) {
    if (s["dac"] == true) {
      saw_dac = true;
      EXPECT_EQ(s["instance"], "SQLEXPRESS");
      EXPECT_EQ(s["port"], 49732);       // the captured DAC reply
      EXPECT_EQ(s["answers"], false);    // nothing listens there
      continue;
    }
    ours[s["instance"]] = {s["server_name"], s["sql_version"], s["port"]};
    EXPECT_EQ(s["answers"], true) << s.dump();  // the responder listens on the tcp ports
    EXPECT_EQ(s["dynamic"], s["port"] == 49731) << s.dump();
  }
  EXPECT_TRUE(saw_dac);
  EXPECT_EQ(ours, tsql);
  // SQLEXPRESS gets a proposed static port (the registry is empty), used all through its
  // remedy; MSSQLSERVER is on 1433 already and the DAC follows its instance: no proposal.
  int proposed = 0;
  for (const auto& s : run.host["services"]) {
    if (s["instance"] == "SQLEXPRESS" && s["dac"] == false) {
      ASSERT_TRUE(s["static"].is_object()) << s.dump();
      EXPECT_EQ(s["static"]["name"], "mssql.sqlexpress");
      EXPECT_EQ(s["static"]["state"], "proposed");
      proposed = s["static"]["port"];
    } else {
      EXPECT_TRUE(s["static"].is_null()) << s.dump();
    }
  }
  EXPECT_TRUE(proposed >= 1024 && proposed < 32768) << proposed;
  bool remedy = false, claim = false;
  for (const auto& r : run.host["remedies"]) {
    const std::string text = r["text"];
    remedy = remedy || text.find(fmt::format("Server=127.0.0.1,{0} instead of 127.0.0.1\\SQLEXPRESS", proposed)) != std::string::npos;
    claim = claim || text.find(fmt::format("berth assign mssql.sqlexpress --port {} --proto tcp", proposed)) != std::string::npos;
  }
  EXPECT_TRUE(remedy) << run.host["remedies"].dump();
  EXPECT_TRUE(claim) << run.host["remedies"].dump();
  // A name the registry already holds gets the registry's port, whatever the proposal was.
  const std::string db = RegistryPath(*ns);
  auto assigned = berth::test::Run({berth::test::BerthBinary(), "assign", "mssql.sqlexpress", "--port", "20123", "--db", db});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  const BerthRun held = Probe(*ns);
  for (const auto& s : held.host["services"]) {
    if (s["instance"] != "SQLEXPRESS" || s["dac"] == true) continue;
    EXPECT_EQ(s["static"]["port"], 20123) << s.dump();
    EXPECT_EQ(s["static"]["state"], "registered") << s.dump();
  }

  // CLNT_UCAST_INST: a known instance answers; an unknown one is silence, not an error.
  BerthRun one = Probe(*ns, {"--instance", "SQLEXPRESS"});
  ASSERT_FALSE(one.host.is_null());
  EXPECT_EQ(one.host["services"][0]["port"], 49731);
  BerthRun none = Probe(*ns, {"--instance", "NOPE"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_TRUE(none.host.is_null()) << "silence must not be reported as a host with findings";

  // --register: what was found becomes observations of the host in the registry.
  auto reg = ns->Exec({berth::test::BerthBinary(), "probe", "--mssql", "--timeout", "0.5", "--register",
                       "--db", db, "127.0.0.1"});
  EXPECT_EQ(reg.exit_code, 1) << reg.err;
  auto store = registry::SqliteStore::Open(db, registry::OpenMode::kRead);
  ASSERT_TRUE(store) << store.error().message;
  auto last = (*store)->LastScan("127.0.0.1");
  ASSERT_TRUE(last && *last);
  auto seen = (*store)->ScanObservations("127.0.0.1", **last);
  ASSERT_TRUE(seen);
  std::set<std::pair<int, std::string>> got;
  for (const auto& o : *seen) got.emplace(o.port, o.command);
  EXPECT_EQ(got, (std::set<std::pair<int, std::string>>{
                     {1433, "mssql MSSQLSERVER"}, {49731, "mssql SQLEXPRESS"}, {49732, "mssql SQLEXPRESS DAC"}}));
  // Proposals are never claimed: the registry holds only what the test assigned.
  auto listed = (*store)->ListClaims("default");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(KeyOrder, ProbeSsrpPeer, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "TcpFirst" : "CapturedNpFirst"; });

}  // namespace
}  // namespace berth::probe
