// JudgeHost (docs/serve.md, "Host state") on hosts built in memory: a collected host (its
// report written by a scan of its collection, no agent) is "collected" with when it was
// collected and recorded, never down and never stale for want of a lease; an agent that starts
// on it is stale until its own report replaces the collection.
#include "server/fleet_state.h"

#include <gtest/gtest.h>

namespace berth::server {
namespace {

constexpr std::int64_t kNow = 1764720000;  // 2025-12-03T00:00:00Z

registry::FleetHost Collected(std::int64_t collected) {
  registry::FleetHost h;
  h.report.host = "WIN-SQL01";
  h.report.source = registry::ReportSource::kCollected;
  h.report.collected = collected;
  h.report.scanned = 1764713000;  // 2025-12-02T22:03:20Z
  return h;
}

TEST(JudgeHost, ACollectedHostIsCollectedAtItsTimeNeverDown) {
  const HostVerdict v = JudgeHost(Collected(1764712800), std::nullopt, kNow, "");
  EXPECT_EQ(v.state, HostState::kCollected);
  EXPECT_EQ(HostStateName(v.state), "collected");
  EXPECT_EQ(v.reason,
            "collected at 2025-12-02T22:00:00Z (recorded at 2025-12-02T22:03:20Z): no agent watches "
            "this host; what is shown is that collection");
  // Days later it is still a collection, not an agent that was lost.
  EXPECT_EQ(JudgeHost(Collected(1764712800), std::nullopt, kNow + 30 * 86400, "").state,
            HostState::kCollected);
  // Nor does a store problem turn it into a stale agent (the document's "stale" says it).
  EXPECT_EQ(JudgeHost(Collected(1764712800), std::nullopt, kNow, "the store did not answer").state,
            HostState::kCollected);
  // A collection without its own time says so.
  EXPECT_EQ(JudgeHost(Collected(0), std::nullopt, kNow, "").reason,
            "collected at an unknown time (recorded at 2025-12-02T22:03:20Z): no agent watches "
            "this host; what is shown is that collection");
  // An agent's report without a presence is still a lost agent.
  registry::FleetHost agent = Collected(0);
  agent.report.source = registry::ReportSource::kAgent;
  EXPECT_EQ(JudgeHost(agent, std::nullopt, kNow, "").state, HostState::kDown);
}

TEST(JudgeHost, AnAgentOnACollectedHostIsStaleUntilItReports) {
  registry::FleetHost h = Collected(1764712800);
  h.presence = registry::HostPresence{"WIN-SQL01", 7, 90, 30, 10, kNow - 10, "0.1.0"};
  const HostVerdict v = JudgeHost(h, 80, kNow, "");
  EXPECT_EQ(v.state, HostState::kStale);
  EXPECT_EQ(v.reason,
            "the agent has not reported a scan yet; the host's collection is shown, collected at "
            "2025-12-02T22:00:00Z (recorded at 2025-12-02T22:03:20Z)");
  h.report.source = registry::ReportSource::kAgent;
  h.report.scanned = kNow - 5;
  EXPECT_EQ(JudgeHost(h, 80, kNow, "").state, HostState::kUp);
}

}  // namespace
}  // namespace berth::server
