// berth agent on the real three-member etcd cluster (tests/etcd/etcd_cluster.h): the agent
// runs beside the cluster (which listens on 127.0.0.1) and scans a network namespace the test
// creates (--netns), so its scans see only the listeners the test opens. "Zero key writes" is read from etcd
// itself: the store revision, which every key write moves and a lease keepalive does not.
// Needs root (ip netns) and etcd; skipped without them, failed under CI=true.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/agent_fixture.h"
#include "etcd/etcd_cluster.h"
#include "registry/store_url.h"

namespace berth::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// etcd's store revision, read from member i (a range of one absent key: the header only).
std::optional<std::int64_t> EtcdRevision(int i) {
  auto r = EtcdCluster::Post(i, "/v3/kv/range", R"({"key":"AA=="})");
  if (!r || r->status != 200) return std::nullopt;
  const json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("header")) return std::nullopt;
  return std::stoll(j["header"]["revision"].get<std::string>());
}

class AgentEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    std::string why;
    cluster_ = EtcdCluster::Start(why);
    if (!cluster_) BERTH_MISSING_PEER(why);
    auto ns = Netns::Create("agent-etcd");
    ASSERT_TRUE(ns);
    ns_.emplace(std::move(*ns));
    url_ = EtcdCluster::Url("/agent-test");
    auto where = registry::ParseStoreUrl(url_);
    ASSERT_TRUE(where);
    auto store = registry::OpenStore(*where, registry::OpenMode::kWrite);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    // The fleet must be built on etcd (the lead's part): fail clearly when it is not.
    auto probe = store_->ListHosts();
    ASSERT_TRUE(probe) << probe.error().message;
  }

  std::vector<std::string> AgentArgv(std::vector<std::string> args) const {
    std::vector<std::string> argv{BerthBinary(), "agent", "--store", url_, "--netns", ns_->name(),
                                  "--host", "h1", "--interval", "1s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Child Listen(Port port) {
    Child c = ServeInChild("lsn", &*ns_, {{SOCK_STREAM, AF_INET, "127.0.0.1", port}});
    EXPECT_TRUE(c.WaitReady());
    return c;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::optional<Netns> ns_;
  std::string url_;
  std::unique_ptr<registry::Store> store_;
};

TEST_F(AgentEtcd, SteadyStateIsKeepalivesOnlyAndSigtermRevokes) {
  AgentProcess agent(AgentArgv({"--refresh", "0", "--json"}), dir_.path());
  std::optional<registry::HostPresence> presence;
  ASSERT_TRUE(probe::test::WaitFor([&] {
    presence = PresenceOf(*store_, "h1");
    return presence && ReportOf(*store_, "h1");
  }, 30)) << agent.Err();
  ASSERT_TRUE(probe::test::WaitFor([&] { return agent.OutLines() >= 3; }, 30)) << agent.Err();
  // Settled: five intervals with no key written, while scans and keepalives go on.
  const auto before = EtcdRevision(0);
  ASSERT_TRUE(before);
  const std::size_t scans = agent.OutLines();
  probe::test::WaitFor([&] { return agent.OutLines() >= scans + 5; }, 30);
  EXPECT_GE(agent.OutLines(), scans + 5) << agent.Err();
  EXPECT_EQ(EtcdRevision(0), before) << "keys were written in a steady state\n" << agent.Err();
  auto left = store_->LeaseRemaining(presence->lease);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_TRUE(left->has_value()) << "the lease (TTL 3 s) was not renewed";

  Child lsn = Listen(45000);
  ASSERT_TRUE(probe::test::WaitFor([&] { return HasFinding(*store_, "h1", "ephemeral-listener", 45000); }, 20))
      << agent.Err();

  agent.Signal(SIGTERM);
  ASSERT_EQ(agent.WaitExit(30), 0) << agent.Err();
  EXPECT_FALSE(PresenceOf(*store_, "h1")) << "the lease was not revoked on SIGTERM";
  EXPECT_TRUE(HasFinding(*store_, "h1", "ephemeral-listener", 45000));
}

// SIGKILL: etcd deletes the presence when the lease (TTL 3 s) expires.
TEST_F(AgentEtcd, SigkilledAgentsPresenceGoesWithinTheTtl) {
  AgentProcess agent(AgentArgv({}), dir_.path());
  ASSERT_TRUE(probe::test::WaitFor([&] { return PresenceOf(*store_, "h1").has_value(); }, 30))
      << agent.Err();
  agent.Signal(SIGKILL);
  ASSERT_TRUE(agent.WaitExit(10));
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(probe::test::WaitFor([&] { return !PresenceOf(*store_, "h1"); }, 30));
  std::fprintf(stderr, "presence gone %.1f s after SIGKILL (lease TTL 3 s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  EXPECT_TRUE(ReportOf(*store_, "h1"));
}

// The whole cluster stops: the agent keeps scanning and says so on stderr; a listener opened
// meanwhile is reported once the cluster is back, and the presence is held again.
TEST_F(AgentEtcd, KeepsScanningWithoutTheStoreAndCatchesUp) {
  AgentProcess agent(AgentArgv({"--json"}), dir_.path());
  ASSERT_TRUE(probe::test::WaitFor([&] { return ReportOf(*store_, "h1").has_value(); }, 30))
      << agent.Err();
  for (int i = 0; i < EtcdCluster::kMembers; ++i) cluster_->StopMember(i);
  Child lsn = Listen(45001);
  const std::size_t scans = agent.OutLines();
  ASSERT_TRUE(probe::test::WaitFor([&] {
    return agent.Err().find("the latest report is kept") != std::string::npos &&
           agent.OutLines() >= scans + 3;
  }, 60)) << agent.Err();
  EXPECT_TRUE(agent.running());
  EXPECT_THAT(agent.Out(), HasSubstr("\"port\":45001")) << "the scans did not go on locally";
  for (int i = 0; i < EtcdCluster::kMembers; ++i) cluster_->StartMember(i);
  ASSERT_TRUE(cluster_->WaitForLeader(0));
  ASSERT_TRUE(probe::test::WaitFor([&] { return HasFinding(*store_, "h1", "ephemeral-listener", 45001); }, 60))
      << agent.Err();
  ASSERT_TRUE(probe::test::WaitFor([&] { return PresenceOf(*store_, "h1").has_value(); }, 30))
      << agent.Err();
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.WaitExit(30), 0) << agent.Err();
}

}  // namespace
}  // namespace berth::test
