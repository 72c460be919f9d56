// Adaptive probe timeouts end to end: berth probe --rpc --mssql over one answering host (the
// test SSRP responder on 127.1.0.2; nothing on tcp/111 there, so RPC is refused) and six
// silent ones (127.1.0.3-8, every packet to them dropped by nft), in a private network
// namespace. The run with adaptive waits must find exactly what the run with --fixed-timeout
// finds, and every silent exchange must have ended on a wait shorter than --timeout, as the
// engine reports it (summary.timing), not as a clock outside it measures.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

using berth::test::Netns;

constexpr int kSilentTargets = 6;

// The findings of one run: hosts without the free-text details (a timeout's text names its wait).
nlohmann::json Findings(const nlohmann::json& doc) {
  nlohmann::json hosts = doc["hosts"];
  for (auto& h : hosts) {
    for (auto& m : h["mappers"]) m.erase("detail");
    for (auto& s : h["services"]) s.erase("answer_detail");
  }
  return hosts;
}

nlohmann::json Probe(const Netns& ns, bool fixed, int* exit_code) {
  std::vector<std::string> argv{berth::test::BerthBinary(), "probe", "--rpc", "--mssql", "--json", "--no-registry",
                                "--timeout", "1", "--retries", "1", "--rate", "20000", "127.1.0.2"};
  for (int i = 0; i < kSilentTargets; ++i) argv.push_back("127.1.0." + std::to_string(3 + i));
  if (fixed) argv.push_back("--fixed-timeout");
  auto r = ns.Exec(argv);
  *exit_code = r.exit_code;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  return doc.is_discarded() ? nlohmann::json::object() : doc;
}

TEST(ProbeAdaptiveTimeout, SameFindingsAsFixedAndSilentTargetsEndEarly) {
  BERTH_REQUIRE_ROOT();
  for (const char* tool : {"nft", "python3"}) {
    if (!test::HaveProgram(tool)) BERTH_MISSING_PEER(std::string(tool) + " missing: run scripts/install-deps test");
  }
  auto ns = Netns::Create("adaptive");
  ASSERT_TRUE(ns);
  berth::test::Child responder = berth::test::Child::Exec(
      {"ip", "netns", "exec", ns->name(), "python3",
       std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/ssrp_responder.py",
       std::string(BERTH_FIXTURES) + "/probe", "127.1.0.2", "--listen"});
  ASSERT_TRUE(test::WaitFor([&] { return !ns->Exec({"ss", "-Hlun", "sport = :1434"}).out.empty(); }, 5));
  auto nft = berth::test::Run({"ip", "netns", "exec", ns->name(), "nft", "-f", "-"},
                              "table inet berth_adaptive {\n"
                              "  chain input {\n"
                              "    type filter hook input priority 0; policy accept;\n"
                              "    ip daddr 127.1.0.0/24 ip daddr != 127.1.0.2 drop\n"
                              "  }\n"
                              "}\n");
  ASSERT_EQ(nft.exit_code, 0) << nft.err;

  int fixed_rc = -1, adaptive_rc = -1;
  const nlohmann::json fixed = Probe(*ns, true, &fixed_rc);
  const nlohmann::json adaptive = Probe(*ns, false, &adaptive_rc);

  // The same findings: one host, SQLEXPRESS on a dynamic port (exit 1), the rest silent.
  EXPECT_EQ(fixed_rc, 1);
  EXPECT_EQ(adaptive_rc, fixed_rc);
  ASSERT_EQ(fixed["hosts"].size(), 1u) << fixed.dump();
  EXPECT_EQ(Findings(adaptive), Findings(fixed)) << adaptive.dump(2) << "\n" << fixed.dump(2);
  EXPECT_EQ(adaptive["summary"]["silent"], kSilentTargets);
  EXPECT_EQ(adaptive["summary"]["silent"], fixed["summary"]["silent"]);
  EXPECT_EQ(adaptive["summary"]["services"], fixed["summary"]["services"]);

  // Fixed: every silent exchange waited the whole second.
  const auto& ft = fixed["summary"]["timing"];
  EXPECT_EQ(ft["adaptive"], false);
  EXPECT_GE(ft["timeouts"].get<int>(), 2 * kSilentTargets) << ft.dump();  // rpc and mssql per target
  EXPECT_EQ(ft["shortened"], 0);
  EXPECT_EQ(ft["longest_wait_ms"], 1000);
  // Adaptive: the answering host's round trips cut every silent exchange short, never
  // below the floor, never above --timeout.
  const auto& at = adaptive["summary"]["timing"];
  EXPECT_EQ(at["adaptive"], true);
  EXPECT_EQ(at["timeout_ms"], 1000);
  EXPECT_GE(at["timeouts"].get<int>(), 2 * kSilentTargets) << at.dump();
  EXPECT_EQ(at["shortened"], at["timeouts"]) << at.dump();
  EXPECT_GE(at["shortest_wait_ms"].get<int>(), 100) << at.dump();
  EXPECT_LT(at["longest_wait_ms"].get<int>(), 1000) << at.dump();
  EXPECT_GE(at["rtt_samples"].get<int>(), 3) << at.dump();
}

}  // namespace
}  // namespace berth::probe
