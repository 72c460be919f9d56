#include "app/pin.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdlib>

#include <fmt/core.h>

#include "host/bind_bpf.h"
#include "host/pin_cgroup.h"
#include "host/reserved_ports.h"

namespace berth::app {
namespace {

// Adds or removes `ports` in ip_local_reserved_ports, merging with what is there.
Result<void> ChangeReservation(const PortSet& ports, bool add) {
  const PortSet before = BERTH_TRY(ReadReservedPorts());
  PortSet now = before;
  if (add) {
    now.Add(ports);
  } else {
    now.Subtract(ports);
  }
  if (now == before) return {};
  BERTH_TRY(SetReservedPorts(now));
  return {};
}

std::string PortsText(const PortSet& ports) {
  const bool one = ports.ranges().size() == 1 && ports.ranges()[0].low == ports.ranges()[0].high;
  return fmt::format("{} {}", one ? "port" : "ports", ports.Format());
}

void Warn(const PinEvents& events, std::string_view text) {
  if (events.warning) events.warning(text);
}

// The moments between the steps of the setup, for the kill -9 tests (docs/pin.md): with
// BERTH_PIN_STOP_AT=STAGE berth stops itself there (SIGSTOP), so a test can SIGKILL it at
// exactly that point without guessing with sleeps. Stages: cgroup (made), reserved (port
// added to ip_local_reserved_ports), attached (BPF programs on the cgroup).
void StopHereIfAsked(std::string_view stage) {
  const char* at = std::getenv("BERTH_PIN_STOP_AT");
  if (at != nullptr && stage == at) (void)std::raise(SIGSTOP);
}

}  // namespace

void SweepKilledPins(const PinEvents& events) {
  if (!HasBpfPrivilege()) return;  // their cgroups are not ours to remove
  for (const StalePin& s : SweepStalePinCgroups()) {
    if (!s.removed) {
      Warn(events, fmt::format("the cgroup {} of a berth pin that is gone could not be removed: {}",
                               s.path, s.problem));
      continue;
    }
    Warn(events, fmt::format("removed the cgroup {} left by berth pin (pid {}), which was killed",
                             s.path, s.owner));
    if (!s.reserved.empty()) {
      if (auto r = ChangeReservation(s.reserved, false); !r) {
        Warn(events, fmt::format("{} stay in ip_local_reserved_ports: {}", PortsText(s.reserved),
                                 r.error().message));
      }
    }
  }
}

namespace {

// Starts the command as `spec` says and waits for it; `supervisor` answers its binds.
Result<ChildEnd> StartAndWait(const ChildSpec& spec, const PinPlan& plan, const PinEvents& events,
                              const WaitWatch& watch = {}) {
  PinnedChild child = BERTH_TRY(PinnedChild::Start(spec));
  std::optional<BindSupervisor> supervisor;
  if (spec.seccomp_notify) supervisor.emplace(child.TakeListener(), plan.rewrite);
  if (events.started) events.started(child.pid());
  return child.Wait(supervisor ? &*supervisor : nullptr, events.moved, watch);
}

// cgroup-bpf: the programs live as long as this call (their links close with it).
Result<ChildEnd> RunInCgroup(const PinCgroup& cgroup, const PinPlan& plan,
                             const std::vector<std::string>& argv, const PinEvents& events) {
  BindBpf bpf = BERTH_TRY(BindBpf::Attach(cgroup.dir_fd(), plan.rewrite));
  StopHereIfAsked("attached");
  const WaitWatch overflows{bpf.overflow_fd(), [&] {
                              for (const BindOverflow& o : bpf.TakeOverflows()) {
                                if (events.overflow) events.overflow(o);
                              }
                            }};
  return StartAndWait({argv, cgroup.procs_fd(), false, {}}, plan, events, overflows);
}

// preload: the shim in LD_PRELOAD (before any the caller set), the port in its variables.
Result<ChildEnd> RunPreloaded(const PinPlan& plan, const std::vector<std::string>& argv,
                              const PinEvents& events) {
  const std::string shim = BERTH_TRY(FindPreloadShim());
  const char* outer = std::getenv("LD_PRELOAD");
  const std::string preload = shim + (outer != nullptr && *outer != '\0' ? std::string(":") + outer : "");
  const Service& service = plan.service();  // one service: PlanPin refuses more
  return StartAndWait({argv, -1, false,
                       {"LD_PRELOAD=" + preload, fmt::format("BERTH_PIN_PORT={}", service.port),
                        fmt::format("BERTH_PIN_PROTO={}", ServiceProtoName(service.proto))}},
                      plan, events);
}

// seccomp: berth answers the command's binds until it ends.
Result<ChildEnd> RunSupervised(const PinPlan& plan, const std::vector<std::string>& argv,
                               const PinEvents& events) {
  return StartAndWait({argv, -1, true, {}}, plan, events);
}

}  // namespace

std::string_view PinEngineName(PinEngine e) {
  switch (e) {
    case PinEngine::kAuto: return "auto";
    case PinEngine::kCgroupBpf: return "cgroup-bpf";
    case PinEngine::kSeccomp: return "seccomp";
    case PinEngine::kPreload: return "preload";
  }
  return "?";
}

Result<PinEngine> ParsePinEngine(std::string_view text) {
  for (PinEngine e : {PinEngine::kAuto, PinEngine::kCgroupBpf, PinEngine::kSeccomp, PinEngine::kPreload}) {
    if (text == PinEngineName(e)) return e;
  }
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown engine '{}': auto, cgroup-bpf, seccomp or preload", text));
}

namespace {

// The registered service `name` as a pin can use it. Failure: kNotFound, or kInvalidArgument
// for a range claim.
Result<Service> PinnableService(registry::Store& store, const std::string& name) {
  auto record = BERTH_TRY(store.GetService(name));
  if (!record) {
    return Fail(ErrorCode::kNotFound, fmt::format("'{}' is not registered in {}", name, store.Location()),
                {Hint{Remedy::kAssignFirst, name}});
  }
  if (record->service.size > 1) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' holds a range of {} ports ({}), a pool its program takes ports "
                            "from itself: pinning gives a program one port",
                            name, record->service.size, FormatRange(PortsOf(record->service))));
  }
  return record->service;
}

constexpr std::size_t kMaxPinnedPorts = 16;  // a protocol's, as the BPF program compares them

}  // namespace

Result<PinPlan> PlanPin(registry::Store& store, HostSource& host, const PinRequest& request) {
  PinPlan plan;
  std::vector<std::string> names{request.name};
  names.insert(names.end(), request.more.begin(), request.more.end());
  for (const std::string& name : names) {
    for (const Service& earlier : plan.services) {
      if (earlier.name == name) {
        return Fail(ErrorCode::kInvalidArgument, fmt::format("'{}' is named twice: each listener "
                                                             "of the command gets a service of its own", name));
      }
    }
    Service service = BERTH_TRY(PinnableService(store, name));
    for (const Service& earlier : plan.services) {
      const bool shared = std::ranges::any_of(std::array{Protocol::kTcp, Protocol::kUdp}, [&](Protocol p) {
        return Covers(earlier.proto, p) && Covers(service.proto, p);
      });
      if (earlier.port == service.port && shared) {
        return Fail(ErrorCode::kInvalidArgument,
                    fmt::format("'{}' and '{}' are both registered on port {}: two listeners of one "
                                "protocol cannot share it", earlier.name, name, service.port));
      }
    }
    for (const Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
      if (Covers(service.proto, proto)) {
        (proto == Protocol::kTcp ? plan.rewrite.tcp : plan.rewrite.udp).push_back(service.port);
      }
    }
    plan.ports.Add(service.port);
    plan.services.push_back(std::move(service));
  }
  if (plan.rewrite.tcp.size() > kMaxPinnedPorts || plan.rewrite.udp.size() > kMaxPinnedPorts) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} services: at most {} ports a protocol can be pinned for one command",
                            plan.services.size(), kMaxPinnedPorts));
  }
  plan.rewrite.from = request.from;
  plan.engine = request.engine;
  if (plan.engine == PinEngine::kAuto) {
    const bool privileged = HasBpfPrivilege();
    const bool cgroup2 = OwnCgroupDir().has_value();
    plan.engine = privileged && cgroup2 ? PinEngine::kCgroupBpf : PinEngine::kSeccomp;
    plan.engine_why = !privileged ? "without CAP_BPF and CAP_NET_ADMIN"
                      : cgroup2   ? "has CAP_BPF and CAP_NET_ADMIN"
                                  : "no cgroup v2 mounted in this mount namespace";
  } else {
    plan.engine_why = "asked for";
    if (plan.engine == PinEngine::kCgroupBpf && !HasBpfPrivilege()) {
      return Fail(ErrorCode::kPermissionDenied,
                  "the cgroup-bpf engine needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN, which "
                  "this process lacks: run as root, or use the seccomp engine, which needs no "
                  "privilege");
    }
    if (plan.engine == PinEngine::kPreload && !request.from.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the preload engine moves binds to port 0 only, not to listed ports: use the "
                  "cgroup-bpf or seccomp engine");
    }
    if (plan.engine == PinEngine::kPreload && plan.services.size() > 1) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the preload engine pins one service: each process counts its own binds, so "
                  "it cannot hand out several ports in order; use the cgroup-bpf or seccomp engine");
    }
  }

  HostQuery query;
  query.all_states = true;
  query.tcp = !plan.rewrite.tcp.empty();
  query.udp = !plan.rewrite.udp.empty();
  query.resolve_owners = false;
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  plan.warnings = snap.warnings;
  for (const SocketRecord& s : snap.sockets) {
    // TIME-WAIT is left from connections of an earlier run; it does not keep a listener out.
    if (s.state == SocketState::kTimeWait) continue;
    const bool pinned = std::ranges::any_of(plan.services, [&](const Service& v) {
      return v.port == s.local_port && Covers(v.proto, s.proto);
    });
    if (!pinned) continue;
    plan.holders.push_back({s.local_port, s.proto, FormatEndpoint(snap.Local(s), s.local_port),
                            std::string(StateName(s.state, s.proto))});
  }
  if (auto reserved = ReadReservedPorts(); reserved) {
    plan.reserved = plan.ports.Intersect(*reserved);
  } else {
    plan.warnings.push_back(reserved.error().message);
  }
  plan.can_reserve = CanSetReservedPorts();
  return plan;
}

Result<PinOutcome> RunPinned(const PinPlan& plan, const std::vector<std::string>& argv,
                             const PinEvents& events) {
  if (!plan.holders.empty()) {
    return Fail(ErrorCode::kConflict, fmt::format("port {} is in use ({} {})", plan.holders[0].port,
                                                  plan.holders[0].endpoint, plan.holders[0].state));
  }
  PortSet unreserved = plan.ports;
  unreserved.Subtract(plan.reserved);
  const PortSet to_reserve = plan.can_reserve ? unreserved : PortSet{};
  if (!unreserved.empty() && !plan.can_reserve) {
    Warn(events, fmt::format("{} not reserved in ip_local_reserved_ports (needs root): another "
                             "program may get it as an ephemeral port", PortsText(unreserved)));
  }
  // The cgroup engine names its cgroup after the reservation before making it, and undoes the
  // reservation before removing the cgroup, so a berth killed at any point leaves the sweep
  // what it needs.
  std::optional<PinCgroup> cgroup;
  if (plan.engine == PinEngine::kCgroupBpf) {
    auto made = PinCgroup::Create(to_reserve);
    if (!made) return std::unexpected(made.error());
    cgroup.emplace(std::move(*made));
    StopHereIfAsked("cgroup");
  }
  PinOutcome out;
  if (!to_reserve.empty()) {
    if (auto r = ChangeReservation(to_reserve, true); !r) {
      Warn(events, fmt::format("{} could not be reserved: {}", PortsText(to_reserve), r.error().message));
    } else {
      out.reserved_added = to_reserve;
      StopHereIfAsked("reserved");
    }
  }
  Result<ChildEnd> end = cgroup ? RunInCgroup(*cgroup, plan, argv, events)
                         : plan.engine == PinEngine::kPreload ? RunPreloaded(plan, argv, events)
                                                              : RunSupervised(plan, argv, events);
  if (!out.reserved_added.empty()) {
    if (auto r = ChangeReservation(out.reserved_added, false); !r) {
      Warn(events, fmt::format("{} stay in ip_local_reserved_ports: {}", PortsText(out.reserved_added),
                               r.error().message));
    }
  }
  if (cgroup) {
    if (auto r = cgroup->Remove(); !r) Warn(events, r.error().message);
  }
  if (!end) return std::unexpected(end.error());
  out.end = *end;
  return out;
}

}  // namespace berth::app
