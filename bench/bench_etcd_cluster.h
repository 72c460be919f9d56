// A three-member etcd cluster on loopback for the benchmarks (etcd_bench, agent_load): client
// ports first_port, +2, +4 (peers one above each), data in `dir`, each member started with
// fork+exec and stopped by its PID (SIGTERM, reaped) when this goes out of scope.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "registry/etcd_client.h"

namespace berth::bench {

class EtcdCluster {
 public:
  EtcdCluster(const std::filesystem::path& dir, int first_port) : first_port_(first_port) {
    std::string initial;
    for (int i = 0; i < 3; ++i) {
      initial += fmt::format("{}b{}=http://127.0.0.1:{}", i ? "," : "", i, first_port + 2 * i + 1);
    }
    for (int i = 0; i < 3; ++i) {
      const std::string peer = fmt::format("http://127.0.0.1:{}", first_port + 2 * i + 1);
      const std::string client = "http://" + Endpoint(i);
      const std::string data = (dir / fmt::format("b{}", i)).string();
      const std::string log = (dir / fmt::format("b{}.log", i)).string();
      std::vector<std::string> argv{"etcd", "--name", fmt::format("b{}", i), "--data-dir", data,
                                    "--listen-client-urls", client, "--advertise-client-urls", client,
                                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                                    "--initial-cluster-token", "berth-bench", "--log-level", "error",
                                    "--logger", "zap", "--log-outputs", log};
      const pid_t pid = ::fork();
      if (pid == 0) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp("etcd", args.data());
        ::_exit(127);
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;
  ~EtcdCluster() {
    for (pid_t p : pids_) ::kill(p, SIGTERM);
    for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
  }

  std::string Endpoint(int i) const { return fmt::format("127.0.0.1:{}", first_port_ + 2 * i); }
  std::vector<std::string> Endpoints() const { return {Endpoint(0), Endpoint(1), Endpoint(2)}; }

  // Polls (at most 20 s) until the first member reports a leader; false when a member did not
  // start or none was elected.
  bool Up() {
    if (pids_.size() != 3) return false;
    registry::etcd::Client c({Endpoint(0)}, HttpLimits{1000, 1000, 1 << 20});
    for (int i = 0; i < 200; ++i) {
      auto s = c.Status(0, 500);
      if (s && s->leader != 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  int first_port_;
  std::vector<pid_t> pids_;
};

}  // namespace berth::bench
