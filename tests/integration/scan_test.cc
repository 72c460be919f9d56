// berth scan against real sockets: in this process, in child processes, and in private
// network namespaces the tests create (root). Asserts exact socket sets, owners, classes
// and findings, and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <sstream>
#include <thread>

#include "integration/scan_fixture.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

TEST(Scan, NamespaceServersAreReportedExactlyWithOwnersClassesAndFindings) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("scan");
  ASSERT_TRUE(ns);
  auto alpha = ServeInChild("srv-alpha", &*ns,
                            {{SOCK_STREAM, AF_INET, "0.0.0.0", 8080},
                             {SOCK_STREAM, AF_INET6, "::", 40000, true},
                             {SOCK_DGRAM, AF_INET, "127.0.0.1", 5353}});
  auto mapper = ServeInChild("rpcbind", &*ns,
                             {{SOCK_STREAM, AF_INET, "0.0.0.0", 111}, {SOCK_DGRAM, AF_INET, "0.0.0.0", 111}});
  ASSERT_TRUE(alpha.WaitReady());
  ASSERT_TRUE(mapper.WaitReady());
  // And one held by this very process, opened from a thread that entered the namespace.
  int mine = -1;
  std::thread([&] {
    if (ns->EnterThread()) mine = OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 9000});
  }).join();
  ASSERT_GE(mine, 0);

  auto r = RunBerth({"scan", "--json", "--netns", ns->name()});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // findings at warning level
  json scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out;
  EXPECT_EQ(scan["schema"], "berth.scan/2");
  EXPECT_EQ(scan["host"]["netns"], ns->name());
  EXPECT_EQ(scan["partial"], false);

  const std::set<SocketKey> want{{"tcp", "0.0.0.0", 8080}, {"tcp", "::", 40000},
                                 {"udp", "127.0.0.1", 5353}, {"tcp", "0.0.0.0", 111},
                                 {"udp", "0.0.0.0", 111},   {"tcp", "127.0.0.1", 9000}};
  EXPECT_EQ(SocketSet(scan), want);

  auto owner_pid = [&](const json* s) { return s->at("owners").at(0).at("pid").get<int>(); };
  const json* s8080 = FindSocket(scan, "tcp", "0.0.0.0", 8080);
  const json* s40000 = FindSocket(scan, "tcp", "::", 40000);
  const json* s111 = FindSocket(scan, "udp", "0.0.0.0", 111);
  const json* s9000 = FindSocket(scan, "tcp", "127.0.0.1", 9000);
  ASSERT_TRUE(s8080 && s40000 && s111 && s9000);
  EXPECT_EQ(owner_pid(s8080), alpha.pid());
  EXPECT_EQ(owner_pid(s111), mapper.pid());
  EXPECT_EQ(owner_pid(s9000), ::getpid());
  EXPECT_EQ(s40000->at("v6only"), true);
  EXPECT_EQ(s40000->at("state"), "LISTEN");
  EXPECT_EQ(s111->at("state"), "UNCONN");
  EXPECT_EQ(s40000->at("class").at("ephemeral"), true);
  EXPECT_EQ(s40000->at("class").at("rfc6335"), "user");
  EXPECT_EQ(s8080->at("class").at("ephemeral"), false);
  EXPECT_EQ(s8080->at("class").at("iana").at("service"), "http-alt");
  EXPECT_EQ(s111->at("class").at("rfc6335"), "system");
  bool saw_alpha = false;
  for (const auto& p : scan["processes"]) {
    if (p.at("pid") == alpha.pid()) {
      saw_alpha = true;
      EXPECT_EQ(p.at("command"), "srv-alpha");
      EXPECT_EQ(p.at("user"), "root");
    }
  }
  EXPECT_TRUE(saw_alpha);

  auto eph = FindingsWithId(scan, "ephemeral-listener");
  ASSERT_EQ(eph.size(), 1u);
  EXPECT_EQ(eph[0]["ports"], nlohmann::json::parse("[40000]"));
  EXPECT_EQ(eph[0]["pids"], json::array({alpha.pid()}));
  auto mappers = FindingsWithId(scan, "port-mapper");
  ASSERT_EQ(mappers.size(), 2u);  // rpcbind on tcp and on udp
  // srv-alpha on 5353/udp (mdns) and 8080/tcp (http-alt); this test binary on 9000 (IANA's
  // cslistener, MinIO's and PHP-FPM's by convention: the conventional-ports table speaks).
  auto mismatch = FindingsWithId(scan, "iana-mismatch");
  ASSERT_EQ(mismatch.size(), 2u);
  for (const auto& m : mismatch) EXPECT_EQ(m.at("pids"), json::array({alpha.pid()}));
  auto conventional = FindingsWithId(scan, "conventional-port");
  ASSERT_EQ(conventional.size(), 1u);
  EXPECT_EQ(conventional[0]["pids"], json::array({::getpid()}));
  EXPECT_EQ(conventional[0]["ports"], nlohmann::json::parse("[9000]"));
  EXPECT_THAT(conventional[0]["why"].get<std::string>(), HasSubstr("MinIO (S3 API) and PHP-FPM"));
  auto reserve = FindingsWithId(scan, "reserved-ports-empty");
  ASSERT_EQ(reserve.size(), 1u);
  const std::string fix = reserve[0]["fix"];
  const std::string cmd = "ip netns exec " + ns->name() + " sysctl -w net.ipv4.ip_local_reserved_ports=40000";
  ASSERT_THAT(fix, HasSubstr(cmd));

  // The fix is a command that works: run it, and the finding goes away.
  ASSERT_EQ(test::Run({"ip", "netns", "exec", ns->name(), "sysctl", "-w",
                 "net.ipv4.ip_local_reserved_ports=40000"}).exit_code, 0);
  auto rescan = RunBerth({"scan", "--json", "--netns", ns->name()});
  auto after = ParseJson(rescan);
  ASSERT_FALSE(after.is_discarded()) << rescan.out << rescan.err;
  EXPECT_TRUE(FindingsWithId(after, "reserved-ports-empty").empty());
  EXPECT_TRUE(FindingsWithId(after, "unreserved-ephemeral-ports").empty());
  EXPECT_EQ(after["host"]["reserved_ports"], nlohmann::json::parse("[[40000,40000]]"));
  const json* reserved = FindSocket(after, "tcp", "::", 40000);
  ASSERT_NE(reserved, nullptr) << rescan.out;
  EXPECT_EQ(reserved->at("class").at("reserved"), true);
  ::close(mine);
}

TEST(Scan, PeerCheckSocketSetEqualsSs) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("peer");
  ASSERT_TRUE(ns);
  auto a = ServeInChild("peer-a", &*ns,
                        {{SOCK_STREAM, AF_INET, "0.0.0.0", 22},
                         {SOCK_STREAM, AF_INET6, "::", 22, true},
                         {SOCK_STREAM, AF_INET6, "::", 8443, false},
                         {SOCK_STREAM, AF_INET, "127.0.0.1", 45678},
                         {SOCK_STREAM, AF_INET6, "::1", 5432, true},
                         {SOCK_DGRAM, AF_INET, "0.0.0.0", 53},
                         {SOCK_DGRAM, AF_INET6, "::1", 50000, true},
                         {SOCK_DGRAM, AF_INET, "127.0.0.2", 123}});
  ASSERT_TRUE(a.WaitReady());
  // An established pair must not show up in either listing (ss -l, berth's default).
  auto conn = Child::Fork([&](int ready) {
    if (!ns->EnterThread()) ::_exit(3);
    if (ConnectLoopback(22) < 0) ::_exit(4);
    (void)!::write(ready, "x", 1);
  });
  ASSERT_TRUE(conn.WaitReady());

  auto r = RunBerth({"scan", "--json", "--netns", ns->name(), "--fail-on", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out;
  std::set<SocketKey> berth_set = SocketSet(scan);

  auto ss = ns->Exec({"ss", "-H", "-tuln"});
  ASSERT_EQ(ss.exit_code, 0) << ss.err;
  std::set<SocketKey> ss_set;
  std::istringstream lines(ss.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string netid, state, rq, sq, local;
    f >> netid >> state >> rq >> sq >> local;
    auto colon = local.rfind(':');
    std::string addr = local.substr(0, colon);
    const int port = std::stoi(local.substr(colon + 1));
    if (auto pct = addr.find('%'); pct != std::string::npos) addr.erase(pct);
    if (addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
    if (addr == "*") addr = "::";  // ss prints a dual-stack wildcard as *
    ss_set.emplace(netid, addr, port);
  }
  EXPECT_EQ(berth_set, ss_set) << "ss said:\n" << ss.out;
  EXPECT_EQ(berth_set.size(), 8u);
}

TEST(Scan, AllStatesAddsConnectionsWithPeers) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("all");
  ASSERT_TRUE(ns);
  auto srv = ServeInChild("srv", &*ns, {{SOCK_STREAM, AF_INET, "127.0.0.1", 7000}});
  ASSERT_TRUE(srv.WaitReady());
  auto cli = Child::Fork([&](int ready) {
    ::prctl(PR_SET_NAME, "cli");
    if (!ns->EnterThread()) ::_exit(3);
    if (ConnectLoopback(7000) < 0) ::_exit(4);
    (void)!::write(ready, "x", 1);
  });
  ASSERT_TRUE(cli.WaitReady());
  auto r = RunBerth({"scan", "--all", "--json", "--netns", ns->name()});
  auto scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out << r.err;
  EXPECT_EQ(scan["all_states"], true);
  int established = 0;
  for (const auto& s : scan["sockets"]) {
    if (s.at("state") != "ESTAB") continue;
    ++established;
    EXPECT_EQ(s.at("peer_address"), "127.0.0.1");
    if (s.at("port") != 7000) {  // the client end: owned by cli, peer port 7000
      EXPECT_EQ(s.at("peer_port"), 7000);
      EXPECT_EQ(s.at("owners").at(0).at("pid"), cli.pid());
    }
  }
  EXPECT_EQ(established, 2);  // the client end and the accepted end (in the backlog)
}

TEST(Scan, SocketsOfThisProcessWithoutRoot) {
  // Runs as any user: a listener of ours, in our own namespace, owned by our pid.
  int s = OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 0});
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  auto r = RunBerth({"scan", "--json", "--tcp"});
  auto scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out << r.err;
  const json* mine = FindSocket(scan, "tcp", "127.0.0.1", port);
  ASSERT_NE(mine, nullptr);
  ASSERT_FALSE(mine->at("owners").empty());
  EXPECT_EQ(mine->at("owners").at(0).at("pid"), ::getpid());
  for (const auto& x : scan["sockets"]) EXPECT_EQ(x.at("proto"), "tcp");  // --tcp
  ::close(s);
}

TEST(Scan, ExitCodesFollowFailOn) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("exit");
  ASSERT_TRUE(ns);
  auto empty = RunBerth({"scan", "--netns", ns->name()});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_THAT(empty.out, HasSubstr("(no listening sockets)"));
  auto srv = ServeInChild("eph", &*ns, {{SOCK_STREAM, AF_INET, "127.0.0.1", 45000}});
  ASSERT_TRUE(srv.WaitReady());
  EXPECT_EQ(RunBerth({"scan", "--netns", ns->name()}).exit_code, 1);
  EXPECT_EQ(RunBerth({"scan", "--netns", ns->name(), "--fail-on", "error"}).exit_code, 0);
  EXPECT_EQ(RunBerth({"scan", "--netns", ns->name(), "--fail-on", "none"}).exit_code, 0);
  EXPECT_EQ(RunBerth({"scan", "--netns", ns->name(), "--fail-on", "info"}).exit_code, 1);
}

TEST(Scan, BadInvocationsFailWithExit2AndSayWhatToDo) {
  auto missing = RunBerth({"scan", "--netns", "berth-no-such-namespace"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no network namespace 'berth-no-such-namespace'"));
  EXPECT_THAT(missing.err, HasSubstr("ip netns list"));
  EXPECT_TRUE(missing.out.empty());

  if (IsRoot()) {
    auto not_ns = RunBerth({"scan", "--netns", "/etc/hostname"});
    EXPECT_EQ(not_ns.exit_code, 2);
    EXPECT_THAT(not_ns.err, HasSubstr("/etc/hostname is not a network namespace"));
  }
  EXPECT_EQ(RunBerth({"scan", "--fail-on", "sometimes"}).exit_code, 2);
  EXPECT_EQ(RunBerth({"scan", "--bogus"}).exit_code, 2);
  EXPECT_EQ(RunBerth({}).exit_code, 2);
  EXPECT_EQ(RunBerth({"scan", "-4", "-6"}).exit_code, 2);  // (-t -u is both, as in ss)
  auto help = RunBerth({"scan", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit status"));
}

// --netns '' used to audit berth's own namespace as if no --netns was given.
TEST(Scan, EmptyNetnsNameIsRefused) {
  for (const std::string name : {"", " "}) {
    auto r = RunBerth({"scan", "--json", "--netns", name});
    EXPECT_EQ(r.exit_code, 2) << "'" << name << "': " << r.out.substr(0, 200);
    EXPECT_THAT(r.err, HasSubstr("berth: error: --netns was given an empty name"));
    EXPECT_THAT(r.err, HasSubstr("ip netns list"));
    EXPECT_TRUE(r.out.empty());
  }
}

// Threads the system refuses: --threads far too high is refused up front, and a walk whose
// workers cannot start (RLIMIT_NPROC) still completes on the threads it has. Before, both
// ended in std::terminate (exit 134).
TEST(Scan, ThreadLimitsNeverAbortTheScan) {
  auto many = RunBerth({"scan", "--json", "--tcp", "--fail-on", "none", "--threads", "100000"});
  EXPECT_EQ(many.exit_code, 2) << many.err;
  EXPECT_THAT(many.err, HasSubstr("--threads 100000: at most 64"));
  EXPECT_TRUE(many.out.empty());
  EXPECT_EQ(RunBerth({"scan", "--json", "--tcp", "--fail-on", "none", "--threads", "64"}).exit_code, 0);

  BERTH_REQUIRE_ROOT();  // root ignores RLIMIT_NPROC: the scan runs as a uid of its own
  int s = OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 0});
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  // A uid nothing else on the machine runs as, so that berth is its only process and a
  // limit of one process leaves no room for a single extra thread.
  const std::string uid = std::to_string(200000 + ::getpid() % 100000);
  // LeakSanitizer (make test's build) needs a thread of its own at exit, which this limit
  // forbids: it would fail the run for its own sake, so it is off for this one process.
  auto r = test::Run({"env", "ASAN_OPTIONS=detect_leaks=0", "prlimit", "--nproc=1", "setpriv",
                      "--reuid=" + uid, "--regid=" + uid, "--clear-groups", BerthBinary(), "scan",
                      "--json", "--tcp", "--fail-on", "none", "--threads", "8"});
  ::close(s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out;
  EXPECT_NE(FindSocket(scan, "tcp", "127.0.0.1", ntohs(a.sin_port)), nullptr);
}

TEST(Scan, UnprivilegedScanIsMarkedPartialAndKeepsUnownedSockets) {
  BERTH_REQUIRE_ROOT();  // to drop to 'nobody' for the scan
  int s = OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 0});
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = test::Run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BerthBinary(),
                "scan", "--json", "--tcp", "--fail-on", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out;
  EXPECT_EQ(scan["partial"], true);
  ASSERT_FALSE(scan["warnings"].empty());
  EXPECT_THAT(scan["warnings"][0].get<std::string>(), HasSubstr("run as root"));
  const json* root_socket = FindSocket(scan, "tcp", "127.0.0.1", ntohs(a.sin_port));
  ASSERT_NE(root_socket, nullptr);  // shown, never dropped
  EXPECT_TRUE(root_socket->at("owners").empty());
  EXPECT_EQ(root_socket->at("uid"), 0);
  ::close(s);
}

// With CAP_DAC_READ_SEARCH alone /proc/PID/fd lists but its links do not read (that needs
// ptrace access): the owners are missing all the same, so the scan must say it is partial.
TEST(Scan, ListableButUnreadableFdsStillMarkThePartialScan) {
  BERTH_REQUIRE_ROOT();
  int s = OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 0});
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = test::Run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      "--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search",
                      BerthBinary(), "scan", "--json", "--tcp", "--fail-on", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scan = ParseJson(r);
  ASSERT_FALSE(scan.is_discarded()) << r.out;
  EXPECT_EQ(scan["partial"], true) << "every owner of root's sockets is missing";
  ASSERT_FALSE(scan["warnings"].empty());
  EXPECT_THAT(scan["warnings"][0].get<std::string>(), HasSubstr("permission denied"));
  const json* root_socket = FindSocket(scan, "tcp", "127.0.0.1", ntohs(a.sin_port));
  ASSERT_NE(root_socket, nullptr);
  EXPECT_TRUE(root_socket->at("owners").empty());
  ::close(s);
}

TEST(Scan, ProcessesExitingMidScanNeverBreakIt) {
  // A churner forks short-lived children that each hold a listener; scans run meanwhile. Its
  // sleeps set the churn rate (the behaviour under test); nothing waits on them, and the
  // assertions hold wherever a scan meets the churn.
  auto churn = Child::Fork([](int ready) {
    (void)!::write(ready, "x", 1);
    for (;;) {
      pid_t p = ::fork();
      if (p == 0) {
        OpenBound({SOCK_STREAM, AF_INET, "127.0.0.1", 0});
        ::usleep(2000);
        ::_exit(0);
      }
      ::usleep(500);
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    }
  });
  ASSERT_TRUE(churn.WaitReady());
  for (int i = 0; i < 15; ++i) {
    auto r = RunBerth({"scan", "--json", "--fail-on", "none"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_FALSE(ParseJson(r).is_discarded());
  }
}

TEST(Scan, TextOutputIsAlignedUncolouredOnAPipeAndEscapesHostileNames) {
  BERTH_REQUIRE_ROOT();
  auto ns = Netns::Create("text");
  ASSERT_TRUE(ns);
  auto evil = ServeInChild("\x1b[31mevil", &*ns, {{SOCK_STREAM, AF_INET, "0.0.0.0", 8081}});
  auto good = ServeInChild("good", &*ns, {{SOCK_STREAM, AF_INET6, "::", 22}});
  ASSERT_TRUE(evil.WaitReady());
  ASSERT_TRUE(good.WaitReady());
  auto r = RunBerth({"scan", "--netns", ns->name()});
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "raw escape byte on a pipe";
  EXPECT_THAT(r.out, HasSubstr("\\x1b[31mevil"));
  // Columns line up: LOCAL starts at the same offset on the header and every row.
  std::istringstream lines(r.out);
  std::string line;
  std::size_t col = std::string::npos;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("PROCESS")) col = line.find("LOCAL");
    if (col != std::string::npos && (line.find(":8081") != std::string::npos || line.find(":22") != std::string::npos)) {
      EXPECT_EQ(line.find_first_of("0[", col - 1), col) << line;
      ++rows;
    }
  }
  EXPECT_EQ(rows, 2);
  auto colour = RunBerth({"scan", "--netns", ns->name(), "--color", "always"});
  EXPECT_THAT(colour.out, HasSubstr("\x1b[1m"));
}

}  // namespace
}  // namespace berth::test
