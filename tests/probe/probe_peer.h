// Shared by the probe peer tests (tests/integration/probe_*_test.cc): a network namespace
// with a private mount namespace holding its own /run, /var/lib/nfs and /etc/nfs.conf
// (tests/integration/peers/private_run_ns.sh), commands run inside it, daemons started in
// it and stopped by pid. Everything is torn down in destructors, also when a test fails.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace berth::probe::test {

inline bool HaveProgram(const std::string& name) {
  return berth::test::Run({"sh", "-c", "command -v " + name}).exit_code == 0;
}

class PrivateNs {
 public:
  static std::optional<PrivateNs> Create(const std::string& tag) {
    PrivateNs ns;
    ns.name_ = "berth-probe-" + tag + "-" + std::to_string(::getpid());
    ns.dir_ = "/tmp/" + ns.name_;
    (void)berth::test::Run({"ip", "netns", "del", ns.name_});
    std::filesystem::remove_all(ns.dir_);
    auto r = berth::test::Run({std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/private_run_ns.sh",
                               ns.name_, ns.dir_});
    ns.holder_ = r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
    if (ns.holder_ <= 0) {
      std::fprintf(stderr, "private_run_ns.sh %s failed: %s\n", ns.name_.c_str(), r.err.c_str());
      return std::nullopt;  // ns's destructor deletes whatever the script created
    }
    return ns;
  }
  PrivateNs(PrivateNs&& o) noexcept
      : name_(std::exchange(o.name_, {})), dir_(std::exchange(o.dir_, {})),
        holder_(std::exchange(o.holder_, -1)) {}
  PrivateNs& operator=(PrivateNs&&) = delete;
  ~PrivateNs() {
    if (holder_ > 0) ::kill(holder_, SIGKILL);
    if (!name_.empty()) (void)berth::test::Run({"ip", "netns", "del", name_});
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }
  // argv prefixed with nsenter into both namespaces.
  std::vector<std::string> In(std::vector<std::string> argv) const {
    std::vector<std::string> full{"nsenter", "-t", std::to_string(holder_), "-m", "-n"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }
  berth::test::CommandResult Exec(std::vector<std::string> argv) const { return berth::test::Run(In(std::move(argv))); }
  berth::test::Child Start(std::vector<std::string> argv) const { return berth::test::Child::Exec(In(std::move(argv))); }

 private:
  PrivateNs() = default;
  std::string name_, dir_;
  pid_t holder_ = -1;
};

// SIGTERM (so RPC daemons unregister), then wait up to 5 s; the Child reaps it later.
inline bool StopGently(const berth::test::Child& c) {
  if (::kill(c.pid(), SIGTERM) != 0) return false;
  for (int i = 0; i < 100; ++i) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(c.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == c.pid()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Polls `ready` every 100 ms for up to `seconds`.
template <class F>
bool WaitFor(F ready, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ready();
}

// The `berth assign ...` lines in a probed host's remedies (berth probe --json), in order.
inline std::vector<std::string> AssignLines(const nlohmann::json& host) {
  std::vector<std::string> out;
  for (const auto& remedy : host["remedies"]) {
    std::istringstream text(remedy["text"].get<std::string>());
    for (std::string line; std::getline(text, line);) {
      if (line.starts_with("berth assign ")) out.push_back(line);
    }
  }
  return out;
}

// Runs a command line berth printed ("berth assign ..."), word by word, against registry `db`.
inline berth::test::CommandResult RunPrinted(const std::string& line, const std::string& db) {
  std::vector<std::string> argv{berth::test::BerthBinary()};
  std::istringstream words(line.substr(line.find(' ') + 1));
  for (std::string w; words >> w;) argv.push_back(w);
  argv.insert(argv.end(), {"--db", db});
  return berth::test::Run(argv);
}

}  // namespace berth::probe::test
