// `berth agent`: keeps one host's part of the fleet's registry current (docs/fleet.md).
// Four loops, each with its own store (a Store is used by one thread):
//  - scan (the caller's thread, in Run): every interval ±10 % takes a snapshot and judges it
//    against the registry last read, never touching the store, and hands the result to
//  - the writer: writes the report and observations only when their digest changed (and
//    every `refresh_every` scans), publishes the host's ranges into its group, and keeps the
//    latest unwritten report to write when the store answers again;
//  - the lease: one lease (TTL 3 x interval), renewed every TTL/3 whatever the scans do, the
//    presence written under it, re-granted and rewritten when lost, revoked on Stop;
//  - the registry watch: waits for the registry's changes, reads the registry again when
//    its revision moved, wakes the scan, and with `reserve` merges the registered ports into
//    ip_local_reserved_ports.
// Stop() may be called from any thread (a signal waiter); everything else from one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/agent_report.h"
#include "base/clock.h"
#include "core/host_source.h"
#include "registry/store.h"

namespace berth::app {

struct AgentOptions {
  std::string host;                        // the name reported under (never empty)
  std::string group{registry::kDefaultGroup};
  std::chrono::seconds interval{30};       // at least 1 s
  int refresh_every = 10;                  // write even an unchanged report every N scans; 0 never
  bool reserve = false;                    // merge the registry's ports into ip_local_reserved_ports
  std::string version;                     // written into the presence
};

// The lease TTL for `interval`: 3 x interval, at least 3 s.
std::int64_t AgentLeaseTtl(std::chrono::seconds interval);

enum class AgentLevel : std::uint8_t { kInfo, kWarning, kError };
std::string_view AgentLevelName(AgentLevel level);  // "info" / "warning" / "error"

// One thing that happened, for the log: one line, no newline.
struct AgentEvent {
  AgentLevel level = AgentLevel::kInfo;
  std::string topic;    // "lease", "scan", "report", "registry", "group", "reserve", "agent"
  std::string message;  // may carry names from the host or the store: render it terminal-safe
};

struct AgentCallbacks {
  // Called from any of the agent's threads, one call at a time.
  std::function<void(const AgentEvent&)> log;
  // After each scan, from the scan thread.
  std::function<void(const AgentScan&)> scanned;
  // Once, after the first scan, whether or not the store answered (systemd's READY=1: a
  // host that boots while the store is down still runs its agent).
  std::function<void()> ready;
};

// Opens a new connection to the store (one per loop).
using StoreOpener = std::function<Result<std::unique_ptr<registry::Store>>()>;

class Agent {
 public:
  Agent(AgentOptions options, StoreOpener open, HostSource& host, const Clock& clock,
        AgentCallbacks callbacks);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until Stop(); then revokes the lease and returns once every loop has ended: within
  // the watch's wait (at most 5 s) plus one store request's bound. Failure: a thread could
  // not be started.
  [[nodiscard]] Result<void> Run();
  // Thread-safe; idempotent.
  void Stop();

 private:
  void ScanLoop();
  void LeaseLoop();
  void WriteLoop();
  void WatchLoop();
  // Waits until `deadline`, Stop() or (when `wake` is set) a registry newer than *wake.
  // True when stopping.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline, const std::uint64_t* wake = nullptr);
  bool WaitFor(std::chrono::milliseconds d) { return WaitUntil(std::chrono::steady_clock::now() + d); }
  void Log(AgentLevel level, std::string topic, std::string message);
  // The loop's store, opened on first use. Failure: the opener's.
  Result<registry::Store*> Connect(std::unique_ptr<registry::Store>& store);
  void ApplyReserve(const registry::RegistryDoc& doc);

  AgentOptions options_;
  StoreOpener open_;
  HostSource& host_;
  const Clock& clock_;
  AgentCallbacks callbacks_;
  std::chrono::milliseconds retry_;  // after a failed store call

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::shared_ptr<const AgentRegistry> registry_;  // the last registry read
  std::uint64_t registry_gen_ = 0;                 // +1 each time registry_ is replaced
  struct WriteJob {
    AgentScan scan;
    bool refresh = false;
  };
  std::optional<WriteJob> pending_;  // the latest scan not yet given to the store
  bool ready_sent_ = false;
  std::mutex log_mu_;
};

// `berth agent --once`: reads the registry, scans, publishes the ranges, writes the report
// when it changed (and with `reserve` merges the reserved ports); no lease, no presence.
struct AgentOnceResult {
  AgentScan scan;
  WriteReason wrote = WriteReason::kUnchanged;
  // The store could not be read or written, or (reserve) the sysctl not set; the scan is whole.
  std::optional<Error> error;
  PortSet reserved_added;  // reserve: the ports added to ip_local_reserved_ports
};
// Failure: the host could not be scanned.
[[nodiscard]] Result<AgentOnceResult> RunAgentOnce(const AgentOptions& options,
                                                   registry::Store* store, HostSource& host,
                                                   const Clock& clock);

}  // namespace berth::app
