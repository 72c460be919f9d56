// What `berth agent` computes and writes (app/agent_report.h), without root or a process: a
// snapshot built in memory, a registry document, a real SQLite store in a temp dir.
#include "app/agent_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "registry/registry_test_util.h"
#include "registry/sqlite_store.h"

namespace berth {
namespace {

// `command` (pid) listening on each TCP port, with Linux's default ranges.
HostSnapshot Listening(const std::string& command, int pid, std::vector<Port> ports) {
  HostSnapshot snap;
  snap.hostname = "ignored";  // the agent reports under its own name
  snap.owners_resolved = true;
  snap.processes.push_back(ProcessInfo{pid, 0, "root", command, "", ""});
  for (Port port : ports) {
    SocketRecord s;
    s.proto = Protocol::kTcp;
    s.state = SocketState::kListen;
    s.local_port = port;
    s.inode = 1000u + port;
    snap.owners.push_back(SocketOwner{static_cast<std::uint32_t>(snap.sockets.size()), 0, 3});
    snap.sockets.push_back(s);
  }
  return snap;
}

std::vector<std::string> Ids(const app::AgentScan& s) {
  std::vector<std::string> out;
  for (const Finding& f : s.findings) out.emplace_back(FindingIdName(f.id));
  return out;
}

app::AgentRegistry WithService(const std::string& name, Port port) {
  app::AgentRegistry reg;
  Service s;
  s.name = name;
  s.port = port;
  reg.doc.services.push_back(s);
  reg.revision = 1;
  return reg;
}

TEST(AgentDigest, IgnoresTimesAndSeesListenersFindingsAndRanges) {
  const app::AgentRegistry reg = WithService("web", 20080);
  auto a = app::JudgeScan(Listening("lsn", 7, {40000}), &reg, {}, "h1", "default", 100);
  auto b = app::JudgeScan(Listening("lsn", 7, {40000}), &reg, {}, "h1", "default", 200);
  EXPECT_EQ(a.report.digest, b.report.digest) << "the scan time moved the digest";
  EXPECT_THAT(a.report.digest, ::testing::MatchesRegex("fnv1a64:[0-9a-f]{16}"));
  EXPECT_NE(app::JudgeScan(Listening("lsn", 8, {40000}), &reg, {}, "h1", "default", 100).report.digest,
            a.report.digest) << "a restarted listener (new pid) is a change";
  EXPECT_NE(app::JudgeScan(Listening("lsn", 7, {40001}), &reg, {}, "h1", "default", 100).report.digest,
            a.report.digest);
  EXPECT_NE(app::JudgeScan(Listening("lsn", 7, {40000}), &reg, {}, "h1", "other", 100).report.digest,
            a.report.digest);
  HostSnapshot shrunk = Listening("lsn", 7, {40000});
  shrunk.config.ephemeral = {41000, 60999};
  EXPECT_NE(app::JudgeScan(shrunk, &reg, {}, "h1", "default", 100).report.digest, a.report.digest);
  b.findings.front().fix += " ";
  EXPECT_NE(app::AgentDigest(b), a.report.digest) << "a finding's text is part of the report";
}

// The scan's findings and check's about registered ports, each said once.
TEST(AgentJudge, CarriesTheScansAndChecksFindingsOnce) {
  const app::AgentRegistry reg = WithService("web", 40080);  // in the ephemeral range, not listening
  auto s = app::JudgeScan(Listening("lsn", 7, {40000, 40001}), &reg, {}, "h1", "default", 100);
  const auto ids = Ids(s);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "unregistered-listener"), 1) << ::testing::PrintToString(ids);
  EXPECT_THAT(ids, ::testing::Contains("ephemeral-listener"));
  EXPECT_THAT(ids, ::testing::Contains("registered-port-ephemeral"));
  EXPECT_THAT(ids, ::testing::Contains("registered-not-listening"));
  EXPECT_EQ(s.report.listeners, 2u);
  EXPECT_EQ(s.report.host, "h1");
  for (const auto& o : s.observations) EXPECT_EQ(o.host, "h1");
  EXPECT_TRUE(std::is_sorted(s.findings.begin(), s.findings.end(),
                             [](const Finding& a, const Finding& b) { return a.severity > b.severity; }));
  // Without a registry: the audit alone, and it says so.
  auto bare = app::JudgeScan(Listening("lsn", 7, {40000}), nullptr, {}, "h1", "default", 100);
  EXPECT_FALSE(bare.registry_revision);
  EXPECT_THAT(Ids(bare), ::testing::Not(::testing::Contains("unregistered-listener")));
  EXPECT_EQ(bare.observations.size(), 1u);
}

TEST(AgentJudge, PortChangedAgainstThePreviousScan) {
  const app::AgentRegistry reg = WithService("web", 20080);
  auto before = app::JudgeScan(Listening("lsn", 7, {40000}), &reg, {}, "h1", "default", 100);
  auto moved = app::JudgeScan(Listening("lsn", 9, {40007}), &reg, before.observations, "h1", "default", 130);
  EXPECT_THAT(Ids(moved), ::testing::Contains("port-changed"));
  auto settled = app::JudgeScan(Listening("lsn", 9, {40007}), &reg, moved.observations, "h1", "default", 160);
  EXPECT_THAT(Ids(settled), ::testing::Not(::testing::Contains("port-changed")));
}

class AgentWrites : public ::testing::Test {
 protected:
  void SetUp() override { store_ = test::OpenOrDie(dir_.File("r.db")); }
  std::int64_t Changes() { return store_->WaitForChange(0, 0).value(); }
  test::TempDir dir_;
  std::unique_ptr<registry::SqliteStore> store_;
};

TEST_F(AgentWrites, OnlyOnChangeOrRefresh) {
  const app::AgentRegistry reg = WithService("web", 20080);
  app::StoredReport stored;
  auto first = app::JudgeScan(Listening("lsn", 7, {40000}), &reg, {}, "h1", "default", 100);
  EXPECT_EQ(app::WriteAgentReport(*store_, first, false, stored).value(), app::WriteReason::kChanged);
  EXPECT_EQ(stored.digest, first.report.digest);
  EXPECT_EQ(app::ReadStoredReport(*store_, "h1")->digest, first.report.digest);

  const std::int64_t c = Changes();
  auto same = app::JudgeScan(Listening("lsn", 7, {40000}), &reg, first.observations, "h1", "default", 130);
  EXPECT_EQ(app::WriteAgentReport(*store_, same, false, stored).value(), app::WriteReason::kUnchanged);
  EXPECT_EQ(Changes(), c) << "an unchanged report was written";

  EXPECT_EQ(app::WriteAgentReport(*store_, same, true, stored).value(), app::WriteReason::kRefresh);
  auto hosts = store_->ListHosts().value();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].report.scanned, 130);
  EXPECT_EQ(hosts[0].report.changed, 100) << "a refresh is not a change";
  EXPECT_EQ(store_->LastScan("h1").value(), 130);

  auto other = app::JudgeScan(Listening("lsn", 7, {40001}), &reg, same.observations, "h1", "default", 160);
  EXPECT_EQ(app::WriteAgentReport(*store_, other, false, stored).value(), app::WriteReason::kChanged);
  EXPECT_EQ(store_->ListHosts().value()[0].report.changed, 160);
  EXPECT_EQ(store_->HostFindings("h1")->size(), other.findings.size());
}

TEST_F(AgentWrites, RangesArePublishedAsAUnionAndOnlyWhenNotCovered) {
  registry::Group g;
  g.name = "g";
  g.hosts = {"old"};
  g.ephemeral = PortSet{{50000, 50100}};
  ASSERT_TRUE(store_->PutGroup(g));
  const std::int64_t r0 = store_->Revision().value();
  EXPECT_TRUE(app::PublishHostRanges(*store_, "g", "h1", {20000, 20090}, PortSet{{20050, 20050}}).value());
  auto got = store_->GetGroup("g").value().value();
  EXPECT_THAT(got.hosts, ::testing::ElementsAre("old", "h1"));
  EXPECT_EQ(got.ephemeral.Format(), "20000-20090,50000-50100");
  EXPECT_EQ(got.reserved.Format(), "20050");
  EXPECT_EQ(store_->Revision().value(), r0 + 1);
  // Covered (the same, or less): nothing is written.
  EXPECT_FALSE(app::PublishHostRanges(*store_, "g", "h1", {20000, 20090}, {}).value());
  EXPECT_FALSE(app::PublishHostRanges(*store_, "g", "h1", {20010, 20020}, PortSet{{20050, 20050}}).value());
  EXPECT_EQ(store_->Revision().value(), r0 + 1);
  // A group that does not exist is not made up (but "default" always exists).
  auto missing = app::PublishHostRanges(*store_, "nosuch", "h1", {20000, 20090}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(app::PublishHostRanges(*store_, "default", "h1", {32768, 60999}, {}).value());
}

}  // namespace
}  // namespace berth
