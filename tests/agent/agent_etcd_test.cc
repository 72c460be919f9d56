// berth agent on the real three-member etcd cluster (tests/etcd/etcd_cluster.h), on a LAN of
// network namespaces (tests/etcd/fleet_lan.h): the cluster listens on the LAN, each agent runs
// inside a host namespace as on a real host, so its scans see only the listeners the test
// opens there, and the test reads the store from the LAN. "Zero key writes" is read from etcd
// itself: the store revision, which every key write moves and a lease keepalive does not.
// Needs root (ip netns) and etcd; skipped without them, failed under CI=true.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/agent_fixture.h"
#include "etcd/etcd_cluster.h"
#include "etcd/fleet_lan.h"
#include "registry/store_url.h"

namespace berth::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Runs `f` on a thread inside `ns` (the test reads the LAN's cluster from there) and returns
// what it returned; nullopt when the namespace cannot be entered.
class AgentEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    std::string why;
    lan_ = FleetLan::Create(1, why);
    if (!lan_) BERTH_MISSING_PEER(why);
    cluster_ = EtcdCluster::Start(why, &lan_->lan(), FleetLan::kLanIp);
    if (!cluster_) BERTH_MISSING_PEER(why);
    url_ = cluster_->UrlHere("/agent-test");
    auto where = registry::ParseStoreUrl(url_);
    ASSERT_TRUE(where);
    auto store = registry::OpenStore(*where, registry::OpenMode::kWrite);  // connects lazily
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  // What the store says, asked from the LAN (where the cluster listens).
  template <class F>
  auto Lan(F f) {
    return InNetns(lan_->lan(), f).value();
  }
  std::optional<registry::HostPresence> Presence() { return Lan([&] { return PresenceOf(*store_, "h1"); }); }
  bool Reported() { return Lan([&] { return ReportOf(*store_, "h1").has_value(); }); }
  bool Finding(Port port) {
    return Lan([&] { return HasFinding(*store_, "h1", "ephemeral-listener", port); });
  }
  // etcd's store revision (a range of one absent key: the header only).
  std::optional<std::int64_t> EtcdRevision() {
    auto r = cluster_->PostHere(0, "/v3/kv/range", R"({"key":"AA=="})");
    if (!r || r->status != 200) return std::nullopt;
    const json j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("header")) return std::nullopt;
    return std::stoll(j["header"]["revision"].get<std::string>());
  }

  // `berth agent` inside the host's namespace, as on a real host.
  std::unique_ptr<AgentProcess> StartAgent(std::vector<std::string> args) {
    std::vector<std::string> argv{"ip", "netns", "exec", lan_->host(0).name(), BerthBinary(),
                                  "agent", "--store", url_, "--host", "h1", "--interval", "1s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<AgentProcess>(argv, dir_.path());
  }
  Child Listen(Port port) {
    Child c = ServeInChild("lsn", &lan_->host(0), {{SOCK_STREAM, AF_INET, "127.0.0.1", port}});
    EXPECT_TRUE(c.WaitReady());
    return c;
  }

  TempDir dir_;
  std::unique_ptr<FleetLan> lan_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::string url_;
  std::unique_ptr<registry::Store> store_;
};

TEST_F(AgentEtcd, SteadyStateIsKeepalivesOnlyAndSigtermRevokes) {
  auto agent = StartAgent({"--refresh", "0", "--json"});
  std::optional<registry::HostPresence> presence;
  ASSERT_TRUE(probe::test::WaitFor([&] { return (presence = Presence()) && Reported(); }, 30))
      << agent->Err();
  ASSERT_TRUE(probe::test::WaitFor([&] { return agent->OutLines() >= 3; }, 30)) << agent->Err();
  // Settled: five intervals with no key written, while scans and keepalives go on.
  const auto before = EtcdRevision();
  ASSERT_TRUE(before);
  const std::size_t scans = agent->OutLines();
  probe::test::WaitFor([&] { return agent->OutLines() >= scans + 5; }, 30);
  EXPECT_GE(agent->OutLines(), scans + 5) << agent->Err();
  EXPECT_EQ(EtcdRevision(), before) << "keys were written in a steady state\n" << agent->Err();
  auto left = Lan([&] { return store_->LeaseRemaining(presence->lease); });
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(left->has_value()) << "the lease (TTL 3 s) was not renewed";

  Child lsn = Listen(45000);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(probe::test::WaitFor([&] { return Finding(45000); }, 20)) << agent->Err();
  std::fprintf(stderr, "ephemeral-listener in etcd %.1f s after the listener opened (interval 1 s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  agent->Signal(SIGTERM);
  ASSERT_EQ(agent->WaitExit(30), 0) << agent->Err();
  EXPECT_FALSE(Presence()) << "the lease was not revoked on SIGTERM";
  EXPECT_TRUE(Finding(45000)) << "the report went with the agent";

  // Restarted with nothing new on the host: a new lease and presence, the report untouched.
  const auto stored = Lan([&] { return ReportOf(*store_, "h1"); });
  ASSERT_TRUE(stored);
  auto again = StartAgent({"--refresh", "0", "--json"});
  ASSERT_TRUE(probe::test::WaitFor([&] { return Presence() && again->OutLines() >= 3; }, 30))
      << again->Err();
  EXPECT_EQ(Lan([&] { return ReportOf(*store_, "h1"); }), stored)
      << "a restarted agent with nothing new rewrote its report\n" << again->Err();
  again->Signal(SIGTERM);
  EXPECT_EQ(again->WaitExit(30), 0) << again->Err();
}

// SIGKILL: etcd deletes the presence when the lease (TTL 3 s) expires.
TEST_F(AgentEtcd, SigkilledAgentsPresenceGoesWithinTheTtl) {
  auto agent = StartAgent({});
  ASSERT_TRUE(probe::test::WaitFor([&] { return Presence() && Reported(); }, 30)) << agent->Err();
  agent->Signal(SIGKILL);
  ASSERT_TRUE(agent->WaitExit(10));
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_TRUE(Presence()) << "the presence went before its lease expired";
  ASSERT_TRUE(probe::test::WaitFor([&] { return !Presence(); }, 30));
  std::fprintf(stderr, "presence gone %.1f s after SIGKILL (lease TTL 3 s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  EXPECT_TRUE(Reported());
}

// The agent's registry watch (Store::WaitForRegistryChange) is not woken by the fleet's own
// writes (presences, reports, observations: every host's, every refresh), only by the
// registry's; the general change counter sees both.
TEST_F(AgentEtcd, TheRegistryWatchIsNotWokenByFleetWrites) {
  const std::int64_t c0 = Lan([&] { return store_->WaitForRegistryChange(0, 0); }).value();
  Lan([&] {
    auto lease = store_->GrantLease(30);
    EXPECT_TRUE(lease);
    EXPECT_TRUE(store_->PutPresence({"other", *lease, 30, 10, 10, 1, "t"}));
    registry::HostReport r;
    r.host = "other";
    r.ephemeral = {32768, 60999};
    EXPECT_TRUE(store_->PutHostReport(r, {}));
    EXPECT_TRUE(store_->RecordScan("other", 100, {}));
    return true;
  });
  EXPECT_NE(Lan([&] { return store_->WaitForChange(c0, 2000); }).value(), c0);
  EXPECT_EQ(Lan([&] { return store_->WaitForRegistryChange(c0, 1500); }).value(), c0)
      << "a fleet write woke the registry watch";
  auto assigned = lan_->host(0).Exec({BerthBinary(), "assign", "web", "--store", url_});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  EXPECT_GT(Lan([&] { return store_->WaitForRegistryChange(c0, 5000); }).value(), c0);
}

// A lease revoked behind the agent's back (etcd answers its keepalive with no TTL) is granted
// again and the presence rewritten under the new one.
TEST_F(AgentEtcd, ALostLeaseIsGrantedAgain) {
  auto agent = StartAgent({});
  std::optional<registry::HostPresence> first, second;
  ASSERT_TRUE(probe::test::WaitFor([&] { return (first = Presence()).has_value(); }, 30)) << agent->Err();
  ASSERT_TRUE(Lan([&] { return store_->RevokeLease(first->lease); }));
  ASSERT_TRUE(probe::test::WaitFor([&] {
    second = Presence();
    return second && second->lease != first->lease;
  }, 20)) << agent->Err();
  EXPECT_THAT(agent->Err(), HasSubstr("is gone"));
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->WaitExit(30), 0) << agent->Err();
}

// Two members stop (no quorum), then all three: the agent keeps scanning and says so on
// stderr; a listener opened meanwhile is reported once the cluster is back, and the presence
// is held again.
TEST_F(AgentEtcd, KeepsScanningWithoutTheStoreAndCatchesUp) {
  auto agent = StartAgent({"--json"});
  std::optional<registry::HostPresence> presence;
  ASSERT_TRUE(probe::test::WaitFor([&] { return (presence = Presence()) && Reported(); }, 30))
      << agent->Err();
  cluster_->StopMember(1);
  cluster_->StopMember(2);
  Child lsn = Listen(45001);
  const std::size_t scans = agent->OutLines();
  ASSERT_TRUE(probe::test::WaitFor([&] {
    return agent->Err().find("the latest report is kept") != std::string::npos &&
           agent->OutLines() >= scans + 3;
  }, 60)) << agent->Err();
  cluster_->StopMember(0);
  const std::size_t later = agent->OutLines();
  ASSERT_TRUE(probe::test::WaitFor([&] { return agent->OutLines() >= later + 3; }, 30)) << agent->Err();
  EXPECT_TRUE(agent->running());
  EXPECT_THAT(agent->Out(), HasSubstr("\"port\":45001")) << "the scans did not go on locally";
  for (int i = 0; i < EtcdCluster::kMembers; ++i) cluster_->StartMember(i);
  ASSERT_TRUE(cluster_->WaitForLeader(0));
  ASSERT_TRUE(probe::test::WaitFor([&] { return Finding(45001); }, 60)) << agent->Err();
  // The presence is held again: under the same lease when the outage was shorter than the
  // TTL (a new leader extends every lease), else under a new one.
  ASSERT_TRUE(probe::test::WaitFor([&] { return Presence().has_value(); }, 30)) << agent->Err();
  EXPECT_THAT(agent->Err(), HasSubstr("caught up"));
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->WaitExit(30), 0) << agent->Err();
}

// Three hosts on a LAN (tests/etcd/fleet_lan.h), the cluster on the LAN, one agent inside each
// host's namespace as on a real host. hostA's ip_local_port_range is 20000-20090: once its
// agent has published it, `berth assign` on hostC keeps out of it; hostB runs --reserve and
// gets the new port into its own ip_local_reserved_ports (merged with what was there) within
// seconds; hostC's agent is SIGKILLed and its presence goes within the lease TTL; the others
// stop on SIGTERM with their presences gone at once.
TEST(AgentFleet, ThreeHostsPublishReserveAndLeave) {
  BERTH_REQUIRE_ROOT();
  std::string why;
  auto lan = FleetLan::Create(3, why);
  if (!lan) BERTH_MISSING_PEER(why);
  auto cluster = EtcdCluster::Start(why, &lan->lan(), FleetLan::kLanIp);
  if (!cluster) BERTH_MISSING_PEER(why);
  const std::string url = cluster->UrlHere("/fleet-test");
  const auto where = registry::ParseStoreUrl(url);
  ASSERT_TRUE(where);
  std::unique_ptr<registry::Store> store;
  InNetns(lan->lan(), [&] {
    auto s = registry::OpenStore(*where, registry::OpenMode::kWrite);
    if (s) store = std::move(*s);
    return true;
  });
  ASSERT_TRUE(store);
  auto presence = [&](const std::string& host) {
    return InNetns(lan->lan(), [&] { return PresenceOf(*store, host); }).value_or(std::nullopt);
  };
  auto berth = [&](int host, std::vector<std::string> args) {
    args.insert(args.begin(), BerthBinary());
    args.push_back("--store");
    args.push_back(url);
    return lan->host(host).Exec(args);
  };
  ASSERT_EQ(berth(2, {"group", "add", "g", "--range", "20000-20100"}).exit_code, 0);
  ASSERT_EQ(lan->host(0).Exec({"sysctl", "-w", "net.ipv4.ip_local_port_range=20000 20090"}).exit_code, 0);
  ASSERT_EQ(lan->host(1).Exec({"sysctl", "-w", "net.ipv4.ip_local_reserved_ports=20300"}).exit_code, 0);
  TempDir dirs[3];
  const std::vector<std::vector<std::string>> flags = {
      {"--host", "hostA", "--group", "g"}, {"--host", "hostB", "--group", "g", "--reserve"}, {"--host", "hostC"}};
  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> argv{"ip", "netns", "exec", lan->host(i).name(), BerthBinary(), "agent",
                                  "--store", url, "--interval", "1s"};
    argv.insert(argv.end(), flags[i].begin(), flags[i].end());
    agents.push_back(std::make_unique<AgentProcess>(argv, dirs[i].path()));
  }
  for (const std::string host : {"hostA", "hostB", "hostC"}) {
    ASSERT_TRUE(probe::test::WaitFor([&] { return presence(host).has_value(); }, 30))
        << host << "\n" << agents[0]->Err() << agents[1]->Err() << agents[2]->Err();
  }
  ASSERT_TRUE(probe::test::WaitFor([&] {
    auto g = InNetns(lan->lan(), [&] { return store->GetGroup("g"); });
    return g && *g && **g && (**g)->ephemeral.Intersect(PortSet{{20000, 20090}}) == PortSet{{20000, 20090}};
  }, 30)) << agents[0]->Err();

  auto assigned = berth(2, {"assign", "svc", "--group", "g", "--json"});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  const int port = json::parse(assigned.out)["port"];
  EXPECT_GE(port, 20091) << "hostC's assign gave a port in hostA's ephemeral range";
  EXPECT_LE(port, 20100);
  PortSet reserved{{20300, 20300}};
  reserved.Add(static_cast<Port>(port));
  const std::string want = reserved.Format() + "\n";  // the kernel's order: ascending
  ASSERT_TRUE(probe::test::WaitFor([&] {
    return lan->host(1).Exec({"sysctl", "-n", "net.ipv4.ip_local_reserved_ports"}).out == want;
  }, 20)) << agents[1]->Err();

  agents[2]->Signal(SIGKILL);
  ASSERT_TRUE(agents[2]->WaitExit(10));
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(probe::test::WaitFor([&] { return !presence("hostC"); }, 30));
  std::fprintf(stderr, "hostC's presence gone %.1f s after SIGKILL (lease TTL 3 s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  for (int i = 0; i < 2; ++i) {
    agents[static_cast<std::size_t>(i)]->Signal(SIGTERM);
    EXPECT_EQ(agents[static_cast<std::size_t>(i)]->WaitExit(30), 0) << agents[static_cast<std::size_t>(i)]->Err();
  }
  EXPECT_FALSE(presence("hostA"));
  EXPECT_FALSE(presence("hostB"));
}

}  // namespace
}  // namespace berth::test
