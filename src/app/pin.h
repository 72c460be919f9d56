// `berth pin`: run a command so that the listening socket it asks for "any port" lands on the
// registry's static port for a service. PlanPin looks the service up, checks the port against
// the live host and chooses an engine; RunPinned reserves the port, sets the engine up, runs
// the command to its end and removes everything it set up. Never prints: what happens is told
// through PinEvents. One thread. Mechanics in src/host (pin_cgroup, bind_bpf, seccomp_bind,
// pin_runner); the engines and their limits in docs/pin.md.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_source.h"
#include "host/bind_rewrite.h"
#include "host/pin_runner.h"
#include "registry/store.h"

namespace berth::app {

enum class PinEngine { kAuto, kCgroupBpf, kSeccomp, kPreload };
// "auto", "cgroup-bpf", "seccomp", "preload".
std::string_view PinEngineName(PinEngine e);
// Failure: kInvalidArgument listing the engines.
[[nodiscard]] Result<PinEngine> ParsePinEngine(std::string_view text);

struct PinRequest {
  std::string name;                 // the registered service
  std::vector<std::string> more;    // --ports: the services of the second, third... listener
  PinEngine engine = PinEngine::kAuto;
  PortSet from;                     // further ports moved to the static one
};

// Something on the host that holds a pinned port already.
struct PortHolder {
  Port port = 0;
  Protocol proto = Protocol::kTcp;
  std::string endpoint;  // "127.0.0.1:8080"
  std::string state;     // ss's name: LISTEN, UNCONN, ESTAB
};

struct PinPlan {
  std::vector<Service> services;             // NAME, then the --ports services, in bind order
  BindRewrite rewrite;
  PinEngine engine = PinEngine::kCgroupBpf;  // never kAuto
  std::string engine_why;                    // why this engine ("root", "not root", "asked")
  std::vector<PortHolder> holders;           // non-empty: a port is taken, do not start
  PortSet ports;                             // every pinned port
  PortSet reserved;                          // those already in ip_local_reserved_ports
  bool can_reserve = false;                  // berth may add them (root)
  std::vector<std::string> warnings;

  const Service& service() const { return services.front(); }
};

// Failure: kNotFound naming the registry when a name is not registered; kInvalidArgument for
// a range claim, a name given twice, two services on one port and protocol, more than 16
// ports a protocol, or several services with the preload engine; the store's; the host's. A
// taken port is not a failure: it is in `holders`.
[[nodiscard]] Result<PinPlan> PlanPin(registry::Store& store, HostSource& host,
                                      const PinRequest& request);

struct PinEvents {
  std::function<void(std::string_view warning)> warning;
  std::function<void(pid_t pid)> started;         // the command runs, pinned
  std::function<void(const MovedBind&)> moved;    // the seccomp engine moved a bind
  std::function<void(const BindOverflow&)> overflow;  // cgroup-bpf: a bind past the last port
};

struct PinOutcome {
  ChildEnd end;
  PortSet reserved_added;  // what berth added to ip_local_reserved_ports (and removed at the end)
};

// Kills and removes what berth pins killed with SIGKILL left (their cgroups, what still runs
// in them, the reservations their names record), telling each through `events.warning`. Run
// before PlanPin, so that a survivor of a killed pin does not hold the port. Does nothing
// without the cgroup engine's privilege (those cgroups are root's).
void SweepKilledPins(const PinEvents& events);

// Runs `argv` under `plan` (whose holders must be empty): reserves the ports when it can, sets the engine up, runs the command to its
// end, then removes the cgroup, the programs and the reservation it added. Failure: setting
// up (nothing is left behind; the command did not run or was killed), or the supervisor's.
[[nodiscard]] Result<PinOutcome> RunPinned(const PinPlan& plan, const std::vector<std::string>& argv,
                                           const PinEvents& events);

}  // namespace berth::app
