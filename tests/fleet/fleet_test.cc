// Issue 12's fleet, whole: three hosts (network namespaces on one LAN, fleet_lan.h), each with
// a real `berth agent`, a real three-member etcd cluster and a real `berth serve` inside the
// LAN's namespace, asserted through serve's API as a user would read it:
//  - a listener opened inside one host's ephemeral range becomes that host's finding;
//  - a SIGKILLed agent's host turns stale, then down, within its lease's TTL;
//  - with two etcd members stopped the agents keep running, serve says its data may be stale,
//    and when they return nothing is lost.
// Every process is stopped by its PID; the namespaces go with the FleetLan.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_fixture.h"
#include "etcd/etcd_cluster.h"
#include "etcd/fleet_lan.h"
#include "server/serve_process.h"

namespace berth::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TEST(Fleet, AgentsEtcdAndServeShowFindingsStatesAndSurviveLosingTheQuorum) {
  BERTH_REQUIRE_ROOT();
  std::string why;
  auto lan = FleetLan::Create(3, why);
  if (!lan) BERTH_MISSING_PEER(why);
  auto cluster = EtcdCluster::Start(why, &lan->lan(), FleetLan::kLanIp);
  if (!cluster) BERTH_MISSING_PEER(why);
  const std::string url = cluster->UrlHere("/fleet");

  ServeProcess serve;
  serve.UseStore(url);
  ServeProcess::Options options;
  options.prefix = {"ip", "netns", "exec", lan->lan().name()};
  ASSERT_TRUE(serve.Start(options)) << serve.error();
  auto get = [&](const std::string& path) {
    const auto r = InNetns(lan->lan(), [&] { return serve.Get(path); });
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  };
  auto state = [&](const std::string& host) -> std::string {
    const json doc = get("/api/v1/hosts");
    if (!doc.is_object()) return "";
    for (const json& h : doc.value("hosts", json::array())) {
      if (h.value("name", "") == host) return h.value("state", "");
    }
    return "";
  };

  // Three agents, one per host, scanning every 2 s (lease TTL 6 s).
  const std::vector<std::string> names{"hostA", "hostB", "hostC"};
  TempDir dirs[3];
  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(std::make_unique<AgentProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lan->host(i).name(), BerthBinary(), "agent",
                                 "--store", url, "--interval", "2s", "--host", names[static_cast<std::size_t>(i)]},
        dirs[i].path()));
  }
  for (const std::string& h : names) {
    ASSERT_TRUE(probe::test::WaitFor([&] { return state(h) == "up"; }, 60))
        << h << ": " << get("/api/v1/hosts").dump() << "\n" << agents[0]->Err() << serve.Stderr();
  }

  // A listener inside hostB's ephemeral range (32768-60999 in a new namespace).
  const auto opened = Clock::now();
  Child listener = ServeInChild("dyn-server", &lan->host(1), {{SOCK_STREAM, AF_INET, "0.0.0.0", 40123}});
  ASSERT_TRUE(listener.WaitReady());
  auto finding_on_40123 = [&] {
    const json doc = get("/api/v1/hosts/hostB/findings");
    if (!doc.is_object()) return false;
    for (const json& f : doc.value("findings", json::array())) {
      const json& finding = f.value("finding", json::object());
      if (finding.value("id", "") == "ephemeral-listener" &&
          finding.dump().find("40123") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(probe::test::WaitFor(finding_on_40123, 60))
      << get("/api/v1/hosts/hostB/findings").dump() << "\n" << agents[1]->Err();
  std::fprintf(stderr, "hostB's ephemeral-range listener reached the API %.1f s after it opened "
               "(interval 2 s)\n", Since(opened));
  const json services_before = get("/api/v1/services");

  // SIGKILL hostC's agent: stale (its lease runs low, renewals missed), then down.
  agents[2]->Signal(SIGKILL);
  ASSERT_TRUE(agents[2]->WaitExit(10));
  const auto killed = Clock::now();
  bool saw_stale = false;
  ASSERT_TRUE(probe::test::WaitFor([&] {
    const std::string s = state("hostC");
    saw_stale = saw_stale || s == "stale";
    return s == "down";
  }, 60)) << get("/api/v1/hosts").dump();
  EXPECT_TRUE(saw_stale) << "hostC went from up to down without being stale first";
  std::fprintf(stderr, "hostC down %.1f s after SIGKILL (lease TTL 6 s)\n", Since(killed));
  EXPECT_EQ(state("hostA"), "up");

  // Two members stopped: no quorum. The agents keep running; serve says it may be stale.
  cluster->StopMember(1);
  cluster->StopMember(2);
  ASSERT_TRUE(probe::test::WaitFor([&] {
    const json doc = get("/api/v1/hosts");
    return doc.is_object() && doc.contains("stale") && doc["stale"].is_string();
  }, 60)) << get("/api/v1/hosts").dump();
  EXPECT_TRUE(agents[0]->running()) << agents[0]->Err();
  EXPECT_TRUE(agents[1]->running()) << agents[1]->Err();
  EXPECT_TRUE(finding_on_40123()) << "the snapshot serve answers from lost a finding";

  // The members back: fresh data, everything still there.
  cluster->StartMember(1);
  cluster->StartMember(2);
  ASSERT_TRUE(probe::test::WaitFor([&] {
    const json doc = get("/api/v1/hosts");
    return doc.is_object() && doc.contains("stale") && doc["stale"].is_null() &&
           state("hostA") == "up" && state("hostB") == "up";
  }, 90)) << get("/api/v1/hosts").dump() << "\n" << agents[0]->Err();
  EXPECT_TRUE(finding_on_40123());
  EXPECT_EQ(get("/api/v1/services")["services"], services_before["services"]);
  EXPECT_EQ(state("hostC"), "down");

  for (int i = 0; i < 2; ++i) {
    agents[static_cast<std::size_t>(i)]->Signal(SIGTERM);
    EXPECT_EQ(agents[static_cast<std::size_t>(i)]->WaitExit(30), 0) << agents[static_cast<std::size_t>(i)]->Err();
  }
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace berth::test
