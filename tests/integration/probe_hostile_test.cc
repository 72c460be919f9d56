// `berth probe` against misbehaving mappers (tests/integration/peers/hostile_mapper.py) in a
// namespace of the test's own: an rpcbind that keeps sending complete records with a wrong
// xid, an endpoint mapper that keeps answering with a wrong call_id, and a server that drips
// one byte at a time on tcp/111 and tcp/135. Each conversation ends (a cap of unmatched
// replies, a total deadline), the bad targets report an error, and a good SQL Server Browser
// probed in the same run still gets its full result.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

using berth::test::Netns;

bool Listening(const Netns& ns, const std::string& filter) {
  return !ns.Exec({"ss", "-Hltn", filter}).out.empty();
}

TEST(ProbeHostilePeer, MisbehavingMappersEndWithAnErrorAndOthersFinish) {
  BERTH_REQUIRE_ROOT();
  if (!test::HaveProgram("python3")) BERTH_MISSING_PEER("python3 is not installed");
  auto ns = Netns::Create("hostile");
  ASSERT_TRUE(ns);
  const std::string peers = std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/";
  auto hostile = [&](const std::string& mode, const std::string& address) {
    return berth::test::Child::Exec({"ip", "netns", "exec", ns->name(), "python3", peers + "hostile_mapper.py", mode, address});
  };
  berth::test::Child xid = hostile("wrong-xid", "127.0.0.2");
  berth::test::Child call_id = hostile("wrong-call-id", "127.0.0.3");
  berth::test::Child drip = hostile("drip", "127.0.0.4");
  berth::test::Child good = berth::test::Child::Exec(
      {"ip", "netns", "exec", ns->name(), "python3", peers + "ssrp_responder.py", std::string(BERTH_FIXTURES) + "/probe",
       "127.0.0.1", "--listen"});
  ASSERT_TRUE(test::WaitFor([&] {
    return Listening(*ns, "src 127.0.0.2:111") && Listening(*ns, "src 127.0.0.3:135") &&
           Listening(*ns, "src 127.0.0.4:111") && Listening(*ns, "src 127.0.0.4:135") &&
           !ns->Exec({"ss", "-Hlun", "sport = :1434"}).out.empty();
  }));

  // `timeout 60` only turns a hang into a failure; nothing below depends on how long it took.
  auto r = ns->Exec({"timeout", "60", berth::test::BerthBinary(), "probe", "--json", "--no-registry", "--timeout",
                     "0.5", "--retries", "0", "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"});
  ASSERT_NE(r.exit_code, 124) << "berth probe did not end within 60 s";
  EXPECT_EQ(r.exit_code, 1) << r.err;  // SQLEXPRESS sits on a dynamic port
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out << r.err;
  ASSERT_TRUE(doc["hosts"].is_array()) << r.out;

  // address -> protocol -> mapper entry
  std::map<std::string, std::map<std::string, nlohmann::json>> mappers;
  std::map<std::string, nlohmann::json> hosts;
  for (const auto& h : doc["hosts"]) {
    hosts[h["address"]] = h;
    for (const auto& m : h["mappers"]) mappers[h["address"]][m["protocol"]] = m;
  }
  auto state = [&](const std::string& addr, const std::string& proto) -> std::string {
    auto h = mappers.find(addr);
    if (h == mappers.end()) return "(host not reported)";
    auto m = h->second.find(proto);
    return m == h->second.end() ? "(mapper not reported)" : m->second["state"].get<std::string>();
  };
  auto detail = [&](const std::string& addr, const std::string& proto) -> std::string {
    return state(addr, proto).starts_with("(") ? "" : mappers[addr][proto]["detail"].get<std::string>();
  };

  EXPECT_EQ(state("127.0.0.2", "rpc"), "error");
  EXPECT_NE(detail("127.0.0.2", "rpc").find("answer none of our requests"), std::string::npos) << detail("127.0.0.2", "rpc");
  EXPECT_EQ(state("127.0.0.3", "msrpc"), "error");
  EXPECT_NE(detail("127.0.0.3", "msrpc").find("answer none of our requests"), std::string::npos)
      << detail("127.0.0.3", "msrpc");
  EXPECT_EQ(state("127.0.0.4", "rpc"), "error");
  EXPECT_NE(detail("127.0.0.4", "rpc").find("total deadline"), std::string::npos) << detail("127.0.0.4", "rpc");
  EXPECT_EQ(state("127.0.0.4", "msrpc"), "error");
  EXPECT_NE(detail("127.0.0.4", "msrpc").find("total deadline"), std::string::npos) << detail("127.0.0.4", "msrpc");

  // The good target: both instances and the DAC, each TCP port checked, as without the others.
  ASSERT_EQ(state("127.0.0.1", "mssql"), "answered") << r.out;
  std::map<std::string, bool> instances;
  bool dac = false;
  for (const auto& s : hosts["127.0.0.1"]["services"]) {
    if (s["dac"] == true) {
      dac = true;
      continue;
    }
    instances[s["instance"]] = s["answers"] == true;
  }
  EXPECT_TRUE(dac);
  EXPECT_EQ(instances, (std::map<std::string, bool>{{"MSSQLSERVER", true}, {"SQLEXPRESS", true}}));
}

}  // namespace
}  // namespace berth::probe
