// Shared by the agent tests: a `berth agent` process (started with fork+exec, its stdout and
// stderr in files, signalled and reaped by its own PID, SIGKILLed in the destructor if still
// running), a TCP listener held by a child inside a network namespace, and the store read
// back through the Store interface.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/scan_fixture.h"  // ServeInChild, Bind
#include "probe/probe_peer.h"          // WaitFor
#include "registry/registry_test_util.h"
#include "registry/store.h"
#include "support/test_support.h"

namespace berth::test {

class AgentProcess {
 public:
  // Runs argv (argv[0] looked up in PATH) with `env` added ("NAME=value").
  AgentProcess(const std::vector<std::string>& argv, const std::string& dir,
               const std::vector<std::string>& env = {})
      : out_(dir + "/agent.out"), err_(dir + "/agent.err") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no agent behind
      const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out < 0 || err < 0) ::_exit(126);
      ::dup2(out, 1);
      ::dup2(err, 2);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  ~AgentProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int sig) const { ::kill(pid_, sig); }
  bool running() {
    Reap(false);
    return !status_;
  }
  // The exit code once it exits within `seconds` (-1 for a signal); nullopt if still running.
  std::optional<int> WaitExit(double seconds) {
    probe::test::WaitFor([&] { return Reap(false); }, seconds);
    if (!status_) return std::nullopt;
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
  }
  std::string Out() const { return Slurp(out_); }
  std::string Err() const { return Slurp(err_); }
  // The number of complete lines on stdout (one JSON document per scan with --json).
  std::size_t OutLines() const {
    const std::string s = Out();
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
  }

 private:
  bool Reap(bool block) {
    if (status_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, block ? 0 : WNOHANG) == pid_) status_ = st;
    return status_.has_value();
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The presence of `host` in the store, if any.
inline std::optional<registry::HostPresence> PresenceOf(registry::Store& store, const std::string& host) {
  auto hosts = store.ListHosts();
  EXPECT_TRUE(hosts) << (hosts ? "" : hosts.error().message);
  if (!hosts) return std::nullopt;
  for (const auto& h : *hosts) {
    if (h.report.host == host) return h.presence;
  }
  return std::nullopt;
}

// The report of `host` in the store, if any.
inline std::optional<registry::HostReport> ReportOf(registry::Store& store, const std::string& host) {
  auto hosts = store.ListHosts();
  if (!hosts) return std::nullopt;
  for (const auto& h : *hosts) {
    if (h.report.host == host && !h.report.digest.empty()) return h.report;
  }
  return std::nullopt;
}

inline bool HasFinding(registry::Store& store, const std::string& host, std::string_view id,
                       Port port) {
  auto findings = store.HostFindings(host);
  if (!findings) return false;
  for (const Finding& f : *findings) {
    if (FindingIdName(f.id) == id && f.ports.contains(port)) return true;
  }
  return false;
}

// The store's change counter now (Store::WaitForChange with since = 0 returns at once).
inline std::int64_t Changes(registry::Store& store) {
  auto c = store.WaitForChange(0, 0);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? *c : -1;
}

}  // namespace berth::test
