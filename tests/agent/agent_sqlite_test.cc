// berth agent on the embedded store (sqlite:///path): the real binary, run inside a network
// namespace of its own (so its scans see only the listeners the test opens there), reading
// the store back through the Store interface. Needs root (ip netns); skipped without it,
// failed under CI=true.
#include <sys/socket.h>
#include <sys/un.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/agent_fixture.h"
#include "base/unique_fd.h"

namespace berth::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AgentSqlite : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    auto ns = Netns::Create("agent");
    ASSERT_TRUE(ns) << "ip netns add failed";
    ns_.emplace(std::move(*ns));
    db_ = dir_.File("registry.db");
    url_ = "sqlite://" + db_;
    store_ = OpenOrDie(db_);
    ASSERT_TRUE(store_);
  }

  // `berth agent ARGS... --store URL` inside the namespace.
  std::vector<std::string> AgentArgv(std::vector<std::string> args) const {
    std::vector<std::string> argv{"ip", "netns", "exec", ns_->name(), BerthBinary(), "agent",
                                  "--store", url_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  CommandResult Once(std::vector<std::string> args) {
    args.push_back("--once");
    return test::Run(AgentArgv(std::move(args)));
  }
  Child Listen(Port port) {
    Child c = ServeInChild("lsn", &*ns_, {{SOCK_STREAM, AF_INET, "127.0.0.1", port}});
    EXPECT_TRUE(c.WaitReady()) << "the listener on " << port << " did not start";
    return c;
  }
  std::string Sysctl(const std::string& name) {
    auto r = ns_->Exec({"sysctl", "-n", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  TempDir dir_;
  std::optional<Netns> ns_;
  std::string db_, url_;
  std::unique_ptr<registry::SqliteStore> store_;
};

// --once: one scan judged against the registry, the report and its findings written, exit 1
// for the finding; the JSON document follows berth.agent/1. The same run again (nothing
// changed on the host) writes nothing at all: the store's change counter stays.
TEST_F(AgentSqlite, OnceWritesTheReportThenNothingWhenUnchanged) {
  Child lsn = Listen(40000);  // inside the namespace's ip_local_port_range 32768-60999
  auto first = Once({"--host", "h1", "--json"});
  ASSERT_EQ(first.exit_code, 1) << first.err << first.out;
  const json doc = json::parse(first.out);
  EXPECT_EQ(doc["schema"], "berth.agent/1");
  EXPECT_EQ(doc["host"], "h1");
  EXPECT_EQ(doc["group"], "default");
  EXPECT_EQ(doc["ephemeral"], json::parse("[[32768,60999]]"));
  EXPECT_TRUE(doc["reserved"].is_array());
  EXPECT_EQ(doc["store"]["written"], "changed") << doc.dump(2);
  EXPECT_TRUE(doc["store"]["error"].is_null());
  ASSERT_EQ(doc["listeners"].size(), 1u) << doc.dump(2);
  EXPECT_EQ(doc["listeners"][0]["port"], 40000);
  EXPECT_EQ(doc["listeners"][0]["command"], "lsn");
  bool eph = false;
  for (const auto& f : doc["findings"]) eph |= f["id"] == "ephemeral-listener";
  EXPECT_TRUE(eph) << doc.dump(2);
  EXPECT_TRUE(HasFinding(*store_, "h1", "ephemeral-listener", 40000));
  auto report = ReportOf(*store_, "h1");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->digest, doc["digest"]);
  EXPECT_EQ(report->listeners, 1u);
  EXPECT_FALSE(PresenceOf(*store_, "h1")) << "--once holds no lease";
  auto last = store_->LastScan("h1");
  ASSERT_TRUE(last && *last);
  EXPECT_EQ(store_->ScanObservations("h1", **last)->size(), 1u);

  const std::int64_t before = Changes(*store_);
  auto second = Once({"--host", "h1", "--json"});
  ASSERT_EQ(second.exit_code, 1) << second.err;
  EXPECT_EQ(json::parse(second.out)["store"]["written"], "unchanged");
  EXPECT_EQ(Changes(*store_), before) << "an agent restarted with nothing new wrote to the store";
  EXPECT_EQ(store_->Revision().value_or(-1), 1) << "the default group was written more than once";
}

// A store that cannot be reached: the scan is still reported locally (stdout), the error says
// what failed and where, exit 2.
TEST_F(AgentSqlite, OnceWithAnUnreachableStoreReportsLocallyAndExitsTwo) {
  Child lsn = Listen(40001);
  auto r = test::Run({"ip", "netns", "exec", ns_->name(), BerthBinary(), "agent", "--once", "--json",
                "--host", "h1", "--store", "etcd://127.0.0.1:1/berth"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "berth.agent/1");
  EXPECT_EQ(doc["listeners"].size(), 1u);
  EXPECT_TRUE(doc["store"]["error"].is_object()) << doc.dump(2);
  EXPECT_TRUE(doc["registry_revision"].is_null());
  EXPECT_THAT(r.err, HasSubstr("berth: error: "));
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
}

// --netns: the agent runs outside the namespace and scans it; the host is named HOST:NETNS.
TEST_F(AgentSqlite, NetnsScansAnotherNamespace) {
  Child lsn = Listen(40002);
  auto r = RunBerth({"agent", "--once", "--json", "--netns", ns_->name(), "--store", url_});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_THAT(doc["host"].get<std::string>(), ::testing::EndsWith(":" + ns_->name()));
  ASSERT_EQ(doc["listeners"].size(), 1u) << doc.dump(2);
  EXPECT_EQ(doc["listeners"][0]["port"], 40002);
}

// The running agent: a presence under its lease; a steady state of keepalives only (no write
// at all over several intervals, while it keeps scanning and its lease keeps being renewed);
// a listener opened in the ephemeral range reported within two intervals; SIGTERM revokes
// the lease at once (the presence is gone as soon as the process has exited), the report stays.
TEST_F(AgentSqlite, SteadyStateWritesNothingAndSigtermRevokesTheLease) {
  AgentProcess agent(AgentArgv({"--host", "h1", "--interval", "1s", "--refresh", "0", "--json"}),
                     dir_.path());
  std::optional<registry::HostPresence> presence;
  ASSERT_TRUE(probe::test::WaitFor([&] {
    presence = PresenceOf(*store_, "h1");
    return presence && ReportOf(*store_, "h1");
  }, 30)) << agent.Err();
  EXPECT_EQ(presence->ttl, 3);
  EXPECT_EQ(presence->interval, 1);
  // Let the first scans settle (the group publish wakes one more scan), then watch.
  ASSERT_TRUE(probe::test::WaitFor([&] { return agent.OutLines() >= 3; }, 30)) << agent.Err();
  const std::int64_t before = Changes(*store_);
  const std::size_t scans = agent.OutLines();
  auto after = store_->WaitForChange(before, 5000);  // five intervals
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(*after, before) << "the store was written in a steady state\n" << agent.Err();
  EXPECT_GE(agent.OutLines(), scans + 3) << "the agent stopped scanning\n" << agent.Err();
  auto left = store_->LeaseRemaining(presence->lease);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->has_value()) << "the lease (TTL 3 s) was not renewed over 5 s";
  EXPECT_EQ(PresenceOf(*store_, "h1"), presence) << "the presence was rewritten";

  Child lsn = Listen(45000);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(probe::test::WaitFor([&] { return HasFinding(*store_, "h1", "ephemeral-listener", 45000); },
                                   20))
      << agent.Err();
  std::fprintf(stderr, "ephemeral-listener reported %.1f s after the listener opened (interval 1 s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  agent.Signal(SIGTERM);
  auto code = agent.WaitExit(20);
  ASSERT_TRUE(code) << "SIGTERM did not stop the agent\n" << agent.Err();
  EXPECT_EQ(*code, 0) << agent.Err();
  EXPECT_FALSE(PresenceOf(*store_, "h1")) << "the lease was not revoked on SIGTERM";
  EXPECT_TRUE(HasFinding(*store_, "h1", "ephemeral-listener", 45000)) << "the report went with the agent";
  EXPECT_THAT(agent.Err(), HasSubstr("SIGTERM: stopping"));
  EXPECT_THAT(agent.Err(), HasSubstr("revoked"));
}

// SIGKILL: nothing is revoked; the presence stays while the lease lives and reads as absent
// once it has expired (TTL 3 s).
TEST_F(AgentSqlite, SigkillLeavesThePresenceToExpire) {
  AgentProcess agent(AgentArgv({"--host", "h1", "--interval", "1s"}), dir_.path());
  ASSERT_TRUE(probe::test::WaitFor([&] { return PresenceOf(*store_, "h1") && ReportOf(*store_, "h1"); }, 30))
      << agent.Err();
  agent.Signal(SIGKILL);
  ASSERT_TRUE(agent.WaitExit(10));
  auto presence = PresenceOf(*store_, "h1");
  ASSERT_TRUE(presence) << "the presence went before its lease expired";
  ASSERT_TRUE(probe::test::WaitFor([&] { return !PresenceOf(*store_, "h1"); }, 20))
      << "the presence outlived its lease";
  EXPECT_FALSE(store_->LeaseRemaining(presence->lease)->has_value());
  EXPECT_TRUE(ReportOf(*store_, "h1")) << "the report is not leased: it stays";
}

// A lease that is lost (revoked behind the agent's back, as an expiry during a partition
// would) is granted again and the presence rewritten under the new one.
TEST_F(AgentSqlite, ALostLeaseIsGrantedAgain) {
  AgentProcess agent(AgentArgv({"--host", "h1", "--interval", "1s"}), dir_.path());
  std::optional<registry::HostPresence> first;
  ASSERT_TRUE(probe::test::WaitFor([&] { return (first = PresenceOf(*store_, "h1")).has_value(); }, 30))
      << agent.Err();
  ASSERT_TRUE(store_->RevokeLease(first->lease));
  std::optional<registry::HostPresence> second;
  ASSERT_TRUE(probe::test::WaitFor([&] {
    second = PresenceOf(*store_, "h1");
    return second && second->lease != first->lease;
  }, 20)) << agent.Err();
  EXPECT_EQ(second->started, first->started);
  EXPECT_THAT(agent.Err(), HasSubstr("is gone"));
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.WaitExit(20), 0);
}

// The host's ranges go into its group: an agent on a host whose ip_local_port_range is
// 20000-20090 makes `berth assign` on another machine (here: outside the namespace, where the
// range is the default) keep out of it.
TEST_F(AgentSqlite, PublishedRangesKeepAssignOnAnotherHostOutOfThem) {
  ASSERT_EQ(RunBerth({"group", "add", "g", "--range", "20000-20100", "--db", db_}).exit_code, 0);
  ASSERT_EQ(ns_->Exec({"sysctl", "-w", "net.ipv4.ip_local_port_range=20000 20090"}).exit_code, 0);
  auto once = Once({"--host", "hostA", "--group", "g"});
  ASSERT_LE(once.exit_code, 1) << once.err;
  auto g = store_->GetGroup("g");
  ASSERT_TRUE(g && *g);
  EXPECT_THAT((*g)->hosts, ::testing::ElementsAre("hostA"));
  EXPECT_EQ((*g)->ephemeral.Format(), "20000-20090");
  for (const std::string name : {"alpha", "beta", "gamma"}) {
    auto a = RunBerth({"assign", name, "--group", "g", "--json", "--db", db_});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    const int port = json::parse(a.out)["port"];
    EXPECT_GE(port, 20091) << name << " was given a port in hostA's ephemeral range";
    EXPECT_LE(port, 20100);
  }
  auto refused = RunBerth({"assign", "delta", "--group", "g", "--port", "20050", "--db", db_});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("ephemeral"));
  // Covered already: a second run writes no group.
  const std::int64_t rev = store_->Revision().value_or(-1);
  ASSERT_LE(Once({"--host", "hostA", "--group", "g"}).exit_code, 1);
  EXPECT_EQ(store_->Revision().value_or(-1), rev);
}

// --group names a group that does not exist: said, with the command that creates it.
TEST_F(AgentSqlite, AnUnknownGroupIsSaidWithItsFix) {
  auto r = Once({"--host", "h1", "--group", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("group 'nosuch' is not in the registry"));
  EXPECT_THAT(r.err, HasSubstr("berth group add nosuch"));
}

// --reserve: a port registered in the agent's group reaches the namespace's
// ip_local_reserved_ports within seconds of `berth assign`, merged with what was there.
TEST_F(AgentSqlite, ReserveAddsANewlyRegisteredPortWithoutClobbering) {
  ASSERT_EQ(RunBerth({"group", "add", "g", "--range", "20000-20999", "--db", db_}).exit_code, 0);
  ASSERT_EQ(ns_->Exec({"sysctl", "-w", "net.ipv4.ip_local_reserved_ports=20300"}).exit_code, 0);
  AgentProcess agent(AgentArgv({"--host", "h1", "--group", "g", "--interval", "1s", "--reserve"}),
                     dir_.path());
  ASSERT_TRUE(probe::test::WaitFor([&] { return PresenceOf(*store_, "h1").has_value(); }, 30))
      << agent.Err();
  auto a = RunBerth({"assign", "svc", "--group", "g", "--port", "20500", "--db", db_});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(probe::test::WaitFor([&] {
    return Sysctl("net.ipv4.ip_local_reserved_ports").find("20500") != std::string::npos;
  }, 20)) << agent.Err();
  EXPECT_EQ(Sysctl("net.ipv4.ip_local_reserved_ports"), "20300,20500\n");
  EXPECT_THAT(agent.Err(), HasSubstr("added 20500 to net.ipv4.ip_local_reserved_ports"));
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.WaitExit(20), 0);
}

// Type=notify: READY=1 on $NOTIFY_SOCKET once the first scan is done, and
// STOPPING=1 on SIGTERM.
TEST_F(AgentSqlite, TellsSystemdWhenReadyAndWhenStopping) {
  const std::string path = dir_.File("notify.sock");
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{20, 0};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  AgentProcess agent(AgentArgv({"--host", "h1", "--interval", "1s"}), dir_.path(),
                     {"NOTIFY_SOCKET=" + path});
  char buf[256] = {};
  ssize_t n = ::recv(sock.get(), buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0) << "no READY=1 within 20 s\n" << agent.Err();
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "READY=1");
  EXPECT_THAT(agent.Err(), HasSubstr("berth agent: info: scan: 0 listeners"));
  agent.Signal(SIGTERM);
  n = ::recv(sock.get(), buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "STOPPING=1");
  EXPECT_EQ(agent.WaitExit(20), 0);
}

// A name with control characters (from --host here; from the store or /proc alike) reaches
// the log as inert text: no escape sequence gets to the terminal, and the JSON escapes it.
TEST_F(AgentSqlite, HostileNamesStayInertInTheLogAndTheJson) {
  const std::string evil = "h\x1b[2J\x07x";
  AgentProcess agent(AgentArgv({"--host", evil, "--interval", "1s", "--json"}), dir_.path());
  ASSERT_TRUE(probe::test::WaitFor([&] { return agent.OutLines() >= 1 && PresenceOf(*store_, evil); }, 30))
      << agent.Err();
  agent.Signal(SIGTERM);
  ASSERT_EQ(agent.WaitExit(20), 0);
  EXPECT_EQ(agent.Err().find('\x1b'), std::string::npos) << agent.Err();
  EXPECT_EQ(agent.Err().find('\x07'), std::string::npos);
  const std::string line = agent.Out().substr(0, agent.Out().find('\n'));
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(json::parse(line)["host"], evil);
}

TEST(AgentCli, RejectsABadIntervalAndReserveWithNetns) {
  auto r = RunBerth({"agent", "--interval", "0s", "--once", "--store", "sqlite:///nonexistent/x.db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--interval '0s'"));
  auto n = RunBerth({"agent", "--reserve", "--netns", "x", "--store", "sqlite:///nonexistent/x.db"});
  EXPECT_EQ(n.exit_code, 2);
  EXPECT_THAT(n.err, HasSubstr("ip netns exec NAME"));
}

}  // namespace
}  // namespace berth::test
