// Real packets through berth's firewall rules: a server namespace with listeners on
// registered and unregistered ports (TCP and UDP), a client namespace joined by a veth pair
// (198.18.0.1/30 <-> 198.18.0.2/30), rules loaded in the server namespace only with
// `berth firewall --apply`, then `--rollback`; a range claim's whole block among them. Every
// connection stays between the two namespaces the test created; both are deleted, and the
// listener killed, on any outcome.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>

#include "support/test_support.h"

namespace berth {
namespace {

constexpr const char* kServerIp = "198.18.0.1";
constexpr const char* kClientIp = "198.18.0.2";

struct Probe {
  int port;
  bool tcp;
};

// The registry of this test, as a berth.toml.
constexpr const char* kRegistry = R"toml(schema = 1
[[service]]
name = "reg-tcp"
port = 20001
proto = "tcp"
description = "registered tcp $(touch /tmp/x)"

[[service]]
name = "reg-both"
port = 20002
proto = "both"

[[service]]
name = "reg-udp"
port = 20003
proto = "udp"

[[service]]
name = "reg-from-client"
port = 20020
proto = "tcp"
sources = ["198.18.0.2/32"]

[[service]]
name = "reg-from-elsewhere"
port = 20021
proto = "tcp"
sources = ["192.0.2.0/24"]

[[service]]
name = "reg-range"
port = 20040
size = 8
proto = "both"
)toml";

// Every port has a listener; only these answer once the rules are loaded.
const std::map<std::pair<int, bool>, bool> kExpected{
    {{20001, true}, true},  {{20002, true}, true},   {{20002, false}, true},
    {{20003, false}, true}, {{20020, true}, true},   {{20021, true}, false},
    {{20010, true}, false}, {{20011, false}, false}, {{20001, false}, false},
    // reg-range, 20040-20047: both ends and the middle answer, the ports beside it do not.
    {{20040, true}, true},  {{20043, true}, true},   {{20047, true}, true},
    {{20040, false}, true}, {{20047, false}, true},  {{20039, true}, false},
    {{20048, true}, false}, {{20048, false}, false}, {{20039, false}, false},
};

int Socket(bool tcp) {
  return ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
}

sockaddr_in Addr(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// In the forked listener: every port of kExpected bound on the server address; UDP echoes.
[[noreturn]] void Listen(int ready_fd) {
  std::vector<int> udp;
  for (const auto& [key, answers] : kExpected) {
    const int fd = Socket(key.second);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = Addr(kServerIp, key.first);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(3);
    if (key.second) {
      ::listen(fd, 64);
    } else {
      udp.push_back(fd);
    }
  }
  char c = 'r';
  (void)::write(ready_fd, &c, 1);
  std::vector<pollfd> fds;
  for (int fd : udp) fds.push_back({fd, POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) <= 0) continue;
    for (const pollfd& p : fds) {
      if (!(p.revents & POLLIN)) continue;
      char buf[64];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(p.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0) ::sendto(p.fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
}

// From the client namespace: does the port answer within `timeout_ms`? TCP: the handshake
// completes; UDP: the echo comes back.
bool Answers(int port, bool tcp, int timeout_ms = 300) {
  const int fd = Socket(tcp);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  sockaddr_in a = Addr(kServerIp, port);
  bool ok = false;
  if (tcp) {
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
      }
    }
  } else {
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    (void)::send(fd, "ping", 4, 0);
    pollfd p{fd, POLLIN, 0};
    char buf[8];
    ok = ::poll(&p, 1, timeout_ms) == 1 && ::recv(fd, buf, sizeof buf, 0) == 4;
  }
  ::close(fd);
  return ok;
}

class FirewallPackets : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::IsRoot()) BERTH_MISSING_PEER("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root");
    if (test::Run({"sh", "-c", "command -v nft"}).exit_code != 0) BERTH_MISSING_PEER("nft missing");
    auto server = test::Netns::Create("fwsrv");
    auto client = test::Netns::Create("fwcli");
    ASSERT_TRUE(server && client);
    server_.emplace(std::move(*server));
    client_.emplace(std::move(*client));
    const std::string veth_s = "bfs" + std::to_string(::getpid() % 1000000);
    const std::string veth_c = "bfc" + std::to_string(::getpid() % 1000000);
    // Created inside the server namespace: the host's namespace never sees the pair.
    auto r = test::Run({"ip", "-n", server_->name(), "link", "add", veth_s, "type", "veth",
                        "peer", "name", veth_c, "netns", client_->name()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (auto [ns, dev, ip] : {std::tuple{&*server_, veth_s, kServerIp},
                               std::tuple{&*client_, veth_c, kClientIp}}) {
      ASSERT_EQ(ns->Exec({"ip", "addr", "add", std::string(ip) + "/30", "dev", dev}).exit_code, 0);
      ASSERT_EQ(ns->Exec({"ip", "link", "set", dev, "up"}).exit_code, 0);
    }
    const test::Netns* srv = &*server_;
    listener_.emplace(test::Child::Fork([srv](int ready) {
      if (!srv->EnterThread()) ::_exit(2);
      Listen(ready);
    }));
    ASSERT_TRUE(listener_->WaitReady()) << "listener did not start";
    char tmpl[] = "/tmp/berth-fwpk-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/berth.toml") << kRegistry;
  }
  void TearDown() override {
    listener_.reset();
    if (!dir_.empty()) (void)test::Run({"rm", "-rf", dir_});
  }

  // Probes every port from the client namespace, on a thread that enters it.
  // Probes every port at once, one thread a port, each entering the client namespace. A port
  // that stays silent is asked again with a longer timeout, so a loaded CI machine cannot
  // turn "answers" into "blocked".
  std::map<std::pair<int, bool>, bool> ProbeAll() {
    std::map<std::pair<int, bool>, bool> seen;
    for (const auto& [key, unused] : kExpected) seen[key] = false;
    std::vector<std::thread> threads;
    for (auto& [key, ok] : seen) {
      threads.emplace_back([this, key = key, &ok = ok] {
        if (!client_->EnterThread()) return;
        ok = Answers(key.first, key.second) || Answers(key.first, key.second, 1000);
      });
    }
    for (std::thread& t : threads) t.join();
    return seen;
  }

  void ExpectAllAnswer(const char* when) {
    for (const auto& [key, ok] : ProbeAll()) {
      EXPECT_TRUE(ok) << when << ": " << (key.second ? "tcp " : "udp ") << key.first;
    }
  }

  void ExpectOnlyRegistered(const char* format) {
    const auto seen = ProbeAll();
    ASSERT_EQ(seen.size(), kExpected.size());
    for (const auto& [key, answers] : kExpected) {
      EXPECT_EQ(seen.at(key), answers)
          << format << ": " << (key.second ? "tcp " : "udp ") << key.first
          << (answers ? " is registered and must answer" : " must be blocked");
    }
  }

  test::CommandResult Berth(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip", "netns", "exec", server_->name(), test::BerthBinary(),
                                  "firewall", "--from", dir_ + "/berth.toml",
                                  "--state-dir", dir_ + "/state"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv);
  }

  std::optional<test::Netns> server_, client_;
  std::optional<test::Child> listener_;
  std::string dir_;
};

TEST_F(FirewallPackets, NftRulesAdmitOnlyRegisteredPortsThenRollBack) {
  ExpectAllAnswer("before any rules");
  auto r = Berth({"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectOnlyRegistered("nft");
  // Loading twice is idempotent (the table is replaced, not duplicated).
  r = Berth({"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_->Exec({"nft", "list", "tables"}).out, "table inet berth\n");
  ExpectOnlyRegistered("nft, applied twice");
  r = Berth({"--format", "nft", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The rollback restores the first apply's table (what was there before the second).
  ExpectOnlyRegistered("nft after one rollback");
}

TEST_F(FirewallPackets, NftRollbackToNothing) {
  auto r = Berth({"--format", "nft", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Berth({"--format", "nft", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server_->Exec({"nft", "list", "tables"}).out, "");
  ExpectAllAnswer("after rollback");
}

TEST_F(FirewallPackets, IptablesRulesAdmitOnlyRegisteredPortsThenRollBack) {
  if (test::Run({"sh", "-c", "command -v iptables-restore"}).exit_code != 0) {
    BERTH_MISSING_PEER("iptables-restore missing");
  }
  auto r = Berth({"--format", "iptables", "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectOnlyRegistered("iptables");
  r = Berth({"--format", "iptables", "--rollback"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectAllAnswer("after iptables rollback");
}

TEST_F(FirewallPackets, RejectedRulesChangeNothing) {
  // A file the tool refuses is never loaded: the check runs first.
  std::ofstream(dir_ + "/bad.toml") << "schema = 1\n[[service]]\nname = \"x\"\nport = 1\n"
                                       "sources = [\"10.0.0.0/8; accept\"]\n";
  auto r = test::Run({"ip", "netns", "exec", server_->name(), test::BerthBinary(), "firewall",
                      "--from", dir_ + "/bad.toml", "--state-dir", dir_ + "/state", "--apply"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(server_->Exec({"nft", "list", "tables"}).out, "");
  ExpectAllAnswer("after a refused file");
}

}  // namespace
}  // namespace berth
