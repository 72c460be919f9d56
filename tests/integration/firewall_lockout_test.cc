// `berth firewall --apply` must not lock out the session it is run from: a server
// namespace with an SSH-like echo listener on port 2222, a client namespace joined by a
// veth pair (198.18.2.1/30 <-> 198.18.2.2/30) holding one established TCP session to it.
// The apply is refused while the rules would close the session's port, goes through when
// the group's allow list opens it, and --confirm-within restores the previous rules unless
// --confirm runs. Both namespaces, the listener and any watchdog are removed on any outcome.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/test_support.h"

namespace berth {
namespace {

constexpr const char* kLockoutServerIp = "198.18.2.1";
constexpr const char* kLockoutClientIp = "198.18.2.2";
constexpr int kSessionPort = 2222;

// A registry with one registered service (not the session's port) in group "ops".
constexpr const char* kClosed = R"toml(schema = 1
[[group]]
name = "ops"

[[service]]
name = "app"
group = "ops"
port = 20001
proto = "tcp"
)toml";

// The same, with the session's port in the group's allow list.
constexpr const char* kAllowed = R"toml(schema = 1
[[group]]
name = "ops"
allow = "2222"

[[service]]
name = "app"
group = "ops"
port = 20001
proto = "tcp"
)toml";

sockaddr_in LockoutAddr(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// In the forked listener: accepts on kSessionPort and echoes every connection.
[[noreturn]] void EchoServer(int ready_fd) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = LockoutAddr(kLockoutServerIp, kSessionPort);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 16) != 0) {
    ::_exit(3);
  }
  char c = 'r';
  (void)!::write(ready_fd, &c, 1);
  std::vector<pollfd> fds{{lfd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      if (i == 0) {
        const int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (cfd >= 0) fds.push_back({cfd, POLLIN, 0});
        continue;
      }
      char buf[256];
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n > 0) {
        (void)!::send(fds[i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores it from now on
      }
    }
  }
}

class FirewallLockout : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::IsRoot()) BERTH_MISSING_PEER("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root");
    if (test::Run({"sh", "-c", "command -v nft"}).exit_code != 0) BERTH_MISSING_PEER("nft missing");
    auto server = test::Netns::Create("fwlsrv");
    auto client = test::Netns::Create("fwlcli");
    ASSERT_TRUE(server && client);
    server_.emplace(std::move(*server));
    client_.emplace(std::move(*client));
    const std::string veth_s = "bls" + std::to_string(::getpid() % 1000000);
    const std::string veth_c = "blc" + std::to_string(::getpid() % 1000000);
    auto r = test::Run({"ip", "-n", server_->name(), "link", "add", veth_s, "type", "veth",
                        "peer", "name", veth_c, "netns", client_->name()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (auto [ns, dev, ip] : {std::tuple{&*server_, veth_s, kLockoutServerIp},
                               std::tuple{&*client_, veth_c, kLockoutClientIp}}) {
      ASSERT_EQ(ns->Exec({"ip", "addr", "add", std::string(ip) + "/30", "dev", dev}).exit_code, 0);
      ASSERT_EQ(ns->Exec({"ip", "link", "set", dev, "up"}).exit_code, 0);
    }
    const test::Netns* srv = &*server_;
    listener_.emplace(test::Child::Fork([srv](int ready) {
      if (!srv->EnterThread()) ::_exit(2);
      EchoServer(ready);
    }));
    ASSERT_TRUE(listener_->WaitReady()) << "listener did not start";
    session_ = Connect();
    ASSERT_GE(session_, 0) << "no session to the listener";
    ASSERT_TRUE(Echoes(session_)) << "the session does not pass packets before any rules";
    char tmpl[] = "/tmp/berth-fwlock-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }

  void TearDown() override {
    if (watchdog_ > 0 && !Exited(watchdog_)) ::kill(watchdog_, SIGKILL);
    if (session_ >= 0) ::close(session_);
    listener_.reset();
    if (!dir_.empty()) (void)test::Run({"rm", "-rf", dir_});
  }

  // A TCP connection from the client namespace (the socket stays in it); -1 on failure.
  int Connect() {
    int fd = -1;
    std::thread([&] {
      if (!client_->EnterThread()) return;
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = LockoutAddr(kLockoutServerIp, kSessionPort);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        fd = -1;
      }
    }).join();
    return fd;
  }

  // A round trip on `fd` within a generous deadline (a safety net, not a measurement).
  static bool Echoes(int fd) {
    if (::send(fd, "ping", 4, MSG_NOSIGNAL) != 4) return false;
    std::string got;
    while (got.size() < 4) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return false;
      char buf[8];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got == "ping";
  }

  test::CommandResult Berth(const char* registry, const std::vector<std::string>& args) {
    std::ofstream(dir_ + "/berth.toml", std::ios::trunc) << registry;
    std::vector<std::string> argv{"ip", "netns", "exec", server_->name(), test::BerthBinary(),
                                  "firewall", "--from", dir_ + "/berth.toml",
                                  "--state-dir", dir_ + "/state"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv);
  }

  std::string Ruleset() { return server_->Exec({"nft", "list", "ruleset"}).out; }

  // The watchdog pid berth reports on stderr ("watchdog pid N"); 0 when absent.
  static pid_t WatchdogPid(const std::string& err) {
    std::smatch m;
    if (!std::regex_search(err, m, std::regex("watchdog pid ([0-9]+)"))) return 0;
    return static_cast<pid_t>(std::stol(m[1]));
  }

  // Polls `done` until it holds or a generous safety deadline passes.
  template <typename F>
  static bool Eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  static bool Exited(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::size_t paren = text.rfind(')');
    return paren == std::string::npos || text.substr(paren + 2, 1) == "Z";
  }

  std::optional<test::Netns> server_, client_;
  std::optional<test::Child> listener_;
  int session_ = -1;
  pid_t watchdog_ = 0;
  std::string dir_;
};

TEST_F(FirewallLockout, ApplyIsRefusedNamingTheSessionAndChangesNothing) {
  const std::string before = Ruleset();
  auto r = Berth(kClosed, {"--format", "nft", "--apply"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("local port 2222"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(kLockoutClientIp), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(Ruleset(), before);
  EXPECT_TRUE(Echoes(session_));
}

TEST_F(FirewallLockout, ForceLoadsAnyway) {
  auto r = Berth(kClosed, {"--format", "nft", "--apply", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Ruleset().find("table inet berth"), std::string::npos);
}

TEST_F(FirewallLockout, AllowListOpensTheSessionPort) {
  auto r = Berth(kAllowed, {"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Ruleset().find("2222"), std::string::npos);
  EXPECT_TRUE(Echoes(session_)) << "the session stopped passing packets";
  const int fresh = Connect();
  EXPECT_GE(fresh, 0) << "a new connection to the allowed port is refused";
  if (fresh >= 0) {
    EXPECT_TRUE(Echoes(fresh));
    ::close(fresh);
  }
}

TEST_F(FirewallLockout, UnconfirmedApplyIsRestored) {
  const std::string before = Ruleset();
  auto r = Berth(kAllowed, {"--format", "nft", "--apply", "--confirm-within", "1s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  watchdog_ = WatchdogPid(r.err);
  ASSERT_GT(watchdog_, 0) << r.err;
  EXPECT_TRUE(Eventually([&] { return Ruleset() == before; })) << Ruleset();
  ASSERT_TRUE(Eventually([&] { return Exited(watchdog_); }));
  watchdog_ = 0;  // gone: TearDown must not signal a pid that may be reused
  r = Berth(kAllowed, {"--format", "nft", "--confirm"});
  EXPECT_EQ(r.exit_code, 2) << "too late to confirm: " << r.err;
  EXPECT_TRUE(Echoes(session_));
}

TEST_F(FirewallLockout, ConfirmedApplyIsKept) {
  auto r = Berth(kAllowed, {"--format", "nft", "--apply", "--confirm-within", "30s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  watchdog_ = WatchdogPid(r.err);
  ASSERT_GT(watchdog_, 0) << r.err;
  const std::string applied = Ruleset();
  ASSERT_NE(applied.find("table inet berth"), std::string::npos);
  // A second apply is refused while the first waits for confirmation.
  r = Berth(kAllowed, {"--format", "nft", "--apply"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Berth(kAllowed, {"--format", "nft", "--confirm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The watchdog notices the confirmation and exits without touching the rules.
  ASSERT_TRUE(Eventually([&] { return Exited(watchdog_); }));
  watchdog_ = 0;
  EXPECT_EQ(Ruleset(), applied);
  EXPECT_TRUE(Echoes(session_));
}

// A --rollback while an apply waits for confirmation is the answer to it: the watchdog
// must not roll back a second step afterwards.
TEST_F(FirewallLockout, RollbackCancelsThePendingRevert) {
  auto r = Berth(kAllowed, {"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = Ruleset();
  std::string b_registry = kAllowed;
  b_registry += "\n[[service]]\nname = \"app2\"\ngroup = \"ops\"\nport = 20002\nproto = \"tcp\"\n";
  r = Berth(b_registry.c_str(), {"--format", "nft", "--apply", "--confirm-within", "2s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  watchdog_ = WatchdogPid(r.err);
  ASSERT_GT(watchdog_, 0) << r.err;
  r = Berth(kAllowed, {"--format", "nft", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ruleset(), a);
  ASSERT_TRUE(Eventually([&] { return Exited(watchdog_); }));
  watchdog_ = 0;
  EXPECT_EQ(Ruleset(), a) << "the watchdog rolled back a second step";
}

}  // namespace
}  // namespace berth
