// A real three-member etcd cluster on loopback for tests (../shared/docs/etcd.md): client and
// peer ports 22379-22384 (below the ephemeral range) of a network namespace the test process
// made its own (PrivateLoopback: etcd tests run side by side, each cluster on its own loopback;
// or, for a fleet test, the namespace of its LAN), data in a temp dir, each member started
// with fork+exec and stopped by its own PID (SIGTERM, then SIGKILL) in the destructor, so a
// failing test leaves nothing behind. Post() talks to the JSON gateway with cpp-httplib.
// The members run with --unsafe-no-fsync: what they write still reaches the page cache before
// they answer, so a member killed by a test (SIGKILL, not a power cut) loses nothing, and
// the tests' hundreds of thousands of writes do not wait on the disk.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "probe/probe_peer.h"  // WaitFor
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {

class EtcdCluster {
 public:
  static constexpr int kMembers = 3;
  static constexpr int kFirstPort = 22379;  // member i: client kFirstPort + 2i, peer + 1

  static int ClientPort(int i) { return kFirstPort + 2 * i; }
  static std::string Endpoint(int i) { return fmt::format("127.0.0.1:{}", ClientPort(i)); }

  // Starts the members and waits (polling, at most 20 s) until one of them reports a leader.
  // nullptr when etcd is missing or the cluster did not come up (the reason in `why`). With
  // `netns`, the members run inside that namespace and listen on `ip` there (a fleet test's
  // LAN, fleet_lan.h); PostHere() then talks to them from inside it.
  static std::unique_ptr<EtcdCluster> Start(std::string& why, const Netns* netns = nullptr,
                                            std::string ip = "127.0.0.1") {
    if (Run({"sh", "-c", "command -v etcd"}).exit_code != 0) {
      why = "etcd is not installed (scripts/install-deps test installs etcd-server)";
      return nullptr;
    }
    // On loopback, in a network namespace of this test's own: other etcd tests running at the
    // same time have theirs, on the same ports.
    if (netns == nullptr && !PrivateLoopback(why)) return nullptr;
    auto c = std::make_unique<EtcdCluster>();
    c->netns_ = netns;
    c->ip_ = std::move(ip);
    for (int i = 0; i < kMembers; ++i) c->StartMember(i);
    if (!c->WaitForLeader(0)) {
      why = "the three etcd members did not elect a leader within 20 s";
      return nullptr;
    }
    // A leader on these ports is not proof that it is ours: with the ports taken (another
    // cluster left running, another checkout's tests) our members exit and the test would
    // talk to someone else's data.
    for (int i = 0; i < kMembers; ++i) {
      if (!c->MemberRunning(i)) {
        why = fmt::format("etcd member m{} exited at start: its ports ({}, {}) are taken by another "
                          "process (see m{}.log); stop it and run again",
                          i, ClientPort(i), ClientPort(i) + 1, i);
        return nullptr;
      }
    }
    return c;
  }

  EtcdCluster() = default;
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;
  ~EtcdCluster() {
    for (auto& m : members_) {
      if (m) m->Kill();
    }
  }

  // Stops member i (SIGKILL by its PID, reaped).
  void StopMember(int i) {
    auto& m = members_[static_cast<std::size_t>(i)];
    if (m) m->Kill();
    m.reset();
  }

  // Starts member i (again: a restarted member rejoins from its data directory).
  void StartMember(int i) {
    std::string initial;
    for (int k = 0; k < kMembers; ++k) {
      initial += fmt::format("{}m{}=http://{}:{}", k == 0 ? "" : ",", k, ip_, ClientPort(k) + 1);
    }
    const std::string peer = fmt::format("http://{}:{}", ip_, ClientPort(i) + 1);
    const std::string client = fmt::format("http://{}:{}", ip_, ClientPort(i));
    std::vector<std::string> argv;
    if (netns_ != nullptr) argv = {"ip", "netns", "exec", netns_->name()};  // ip execs etcd: same PID
    members_[static_cast<std::size_t>(i)].emplace(Child::Exec(Concat(argv, {"etcd", "--name", fmt::format("m{}", i), "--data-dir", dir_.File(fmt::format("m{}", i)),
         "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls",
         peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", initial,
         "--initial-cluster-state", "new", "--initial-cluster-token", "berth-test",
         "--log-level", "error", "--logger", "zap", "--unsafe-no-fsync", "--log-outputs",
         dir_.File(fmt::format("m{}.log", i))})));
  }

  // True while member i's process runs. Not reaped here (WNOWAIT): Kill() reaps it, so its
  // PID cannot be reused by another process before.
  bool MemberRunning(int i) {
    auto& m = members_[static_cast<std::size_t>(i)];
    if (!m || m->pid() <= 0) return false;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(m->pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid == 0;
  }

  // Polls member i (at most 20 s) until it reports a leader.
  bool WaitForLeader(int i) {
    return probe::test::WaitFor([&] {
      auto r = PostHere(i, "/v3/maintenance/status", "{}");
      return r && r->status == 200 && r->body.find("\"leader\"") != std::string::npos;
    }, 20);
  }

  // "etcd://127.0.0.1:22379,...:22383/PREFIX"
  static std::string Url(const std::string& prefix) {
    std::string eps;
    for (int i = 0; i < kMembers; ++i) eps += (i ? "," : "") + Endpoint(i);
    return fmt::format("etcd://{}{}", eps, prefix);
  }

  // The store URL of this cluster where it runs (its namespace's address).
  std::string UrlHere(const std::string& prefix) const {
    std::string eps;
    for (int i = 0; i < kMembers; ++i) eps += fmt::format("{}{}:{}", i ? "," : "", ip_, ClientPort(i));
    return fmt::format("etcd://{}{}", eps, prefix);
  }

  // POSTs `body` to member i's gateway at `path` of the loopback cluster, with 5 s timeouts.
  static httplib::Result Post(int i, const std::string& path, const std::string& body) {
    return PostTo("127.0.0.1", i, path, body);
  }

  // The same to this cluster where it runs: from inside its namespace when it has one (on a
  // thread that enters it).
  httplib::Result PostHere(int i, const std::string& path, const std::string& body) const {
    auto post = [&] { return PostTo(ip_, i, path, body); };
    if (netns_ == nullptr) return post();
    httplib::Result out{nullptr, httplib::Error::Connection};
    std::thread t([&] {
      if (netns_->EnterThread()) out = post();
    });
    t.join();
    return out;
  }

 private:
  static httplib::Result PostTo(const std::string& ip, int i, const std::string& path,
                                const std::string& body) {
    httplib::Client client(fmt::format("http://{}:{}", ip, ClientPort(i)));
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    return client.Post(path, body, "application/json");
  }

  static std::vector<std::string> Concat(std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  const Netns* netns_ = nullptr;
  std::string ip_ = "127.0.0.1";
  TempDir dir_;
  std::array<std::optional<Child>, kMembers> members_;
};

}  // namespace berth::test
