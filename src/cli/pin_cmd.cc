// berth pin: run a server that binds "any port" on its registered static port
// (src/app/pin.h, docs/pin.md).
#include <signal.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/core.h>

#include "app/pin.h"
#include "app/registry_ops.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/pin_render.h"
#include "host/live_host.h"

namespace berth::cli {
namespace {

struct PinFlags {
  std::string name;
  std::vector<std::string> more;  // --ports
  std::vector<std::string> command;
  std::string engine = "auto";
  std::string from;
  std::string proto;  // with --assign
  bool assign = false;
  bool json = false;
  bool print_unit = false;
  StoreFlags store;
};

std::string ShowCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./=:,+@%") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

// The command was killed by `sig`: when that signal's default action ends a process quietly,
// berth ends by it too, once everything is cleaned up, so that what started berth sees what
// it would have seen without it: systemd a clean stop (code=killed, signal=TERM, not a failed
// unit with status 143), a shell $? = 128+N. For a signal that dumps core, berth returns and
// exits 128+N: a core of berth would mislead.
void EndLikeTheCommand(int sig) {
  switch (sig) {
    case SIGHUP: case SIGINT: case SIGKILL: case SIGPIPE: case SIGALRM: case SIGTERM:
    case SIGUSR1: case SIGUSR2:
      break;
    default:
      return;
  }
  std::fflush(nullptr);
  std::signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  std::raise(sig);
}

PinView ToView(const app::PinPlan& plan) {
  PinView v;
  v.services = plan.services;
  v.from = plan.rewrite.from;
  v.engine = std::string(app::PinEngineName(plan.engine));
  v.engine_why = plan.engine_why;
  for (const app::PortHolder& h : plan.holders) {
    v.holders.push_back({h.port, std::string(ProtocolName(h.proto)), h.endpoint, h.state});
  }
  v.reserved = plan.reserved == plan.ports;
  v.can_reserve = plan.can_reserve;
  v.warnings = plan.warnings;
  return v;
}

// --assign: registers the names (berth assign NAME... [--proto P]) that are not yet.
Result<void> AssignIfMissing(const PinFlags& f) {
  auto store = BERTH_TRY(OpenRegistry(f.store, registry::OpenMode::kWrite));
  std::vector<registry::AssignRequest> requests;
  std::vector<std::string> names{f.name};
  names.insert(names.end(), f.more.begin(), f.more.end());
  for (const std::string& name : names) {
    if (BERTH_TRY(store->GetService(name))) continue;
    registry::AssignRequest request;
    request.name = name;
    if (!f.proto.empty()) request.proto = BERTH_TRY(ParseServiceProto(f.proto));
    requests.push_back(std::move(request));
  }
  if (requests.empty()) return {};
  registry::HostView host = BERTH_TRY(TakeHostView());
  auto steps = app::Assign(*store, std::move(host), requests);
  if (steps.failed) return std::unexpected(*steps.failed);
  for (const registry::Assignment& a : steps.done) {
    fmt::print(stderr, "berth: pin: assigned {} port {}/{}\n", a.record.service.name,
               a.record.service.port, ServiceProtoName(a.record.service.proto));
    for (const registry::Violation& w : a.warnings) PrintWarning(w.text);
  }
  return {};
}

int RunPin(const PinFlags& f) {
  app::PinRequest request;
  request.name = f.name;
  request.more = f.more;
  auto engine = app::ParsePinEngine(f.engine);
  if (!engine) return PrintError(engine.error());
  request.engine = *engine;
  if (!f.from.empty()) {
    auto from = PortSet::Parse(f.from);
    if (!from) return PrintError(fmt::format("--from: {}", from.error().message));
    request.from = *from;
  }
  if (f.assign) {
    if (auto a = AssignIfMissing(f); !a) return PrintError(a.error());
  } else if (!f.proto.empty()) {
    return PrintError("--proto is for --assign: a registered service keeps its protocol");
  }
  app::PinEvents events;
  events.warning = [](std::string_view w) { PrintWarning(w); };
  if (!f.command.empty() && !f.print_unit) app::SweepKilledPins(events);
  std::optional<app::PinPlan> plan;
  {
    auto store = OpenRegistry(f.store, registry::OpenMode::kRead);
    if (!store) return PrintError(store.error());
    if (f.print_unit) {
      auto rec = (*store)->GetService(f.name);
      if (!rec) return PrintError(rec.error());
      if (!*rec) {
        return PrintError(Error{ErrorCode::kNotFound, fmt::format("'{}' is not registered in {}",
                                                                  f.name, (*store)->Location()),
                                {Hint{Remedy::kAssignFirst, f.name}}});
      }
      RenderPinAlternative((*rec)->service, kStdoutSink);
      return 0;
    }
    LiveHost host;
    auto planned = app::PlanPin(**store, host, request);
    if (!planned) return PrintError(planned.error());
    plan = std::move(*planned);
  }  // the registry is closed while the command runs
  PinView view = ToView(*plan);
  const RenderForm form = f.json ? RenderForm::kJson : RenderForm::kText;
  if (f.command.empty()) {
    RenderPinPlan(view, form, false, kStdoutSink);
    return plan->holders.empty() ? 0 : 1;
  }
  PrintWarnings(plan->warnings);
  if (!plan->holders.empty()) {
    const app::PortHolder& h = plan->holders.front();
    const auto held = std::ranges::find_if(plan->services, [&](const Service& v) { return v.port == h.port; });
    return PrintError(fmt::format(
        "{}: port {} is in use ({} {} {}); the command was not started. Stop what holds the port "
        "(see 'ss -tulpn sport = :{}'), then run berth pin again",
        held != plan->services.end() ? held->name : f.name, h.port, ProtocolName(h.proto),
        h.endpoint, h.state, h.port));
  }
  view.command = ShowCommand(f.command);
  for (const Service& v : plan->services) {
    if (PinPortOption(v).empty() || f.json) continue;
    fmt::print(stderr, "berth: pin: note: {} has a port option, which needs no pin: see 'berth "
                       "pin --print-unit {}'\n", v.name, v.name);
  }
  events.started = [&](pid_t pid) {
    view.pid = pid;
    if (f.json) {
      RenderPinPlan(view, form, true, [](std::string_view s) { fmt::print(stderr, "{}", s); });
    } else {
      std::string pinned;
      for (const Service& v : plan->services) {
        pinned += fmt::format("{}{} on {}/{}", pinned.empty() ? "" : ", ", v.name, v.port,
                              ServiceProtoName(v.proto));
      }
      fmt::print(stderr, "berth: pin: {} with the {} engine, pid {}: {}\n", pinned, view.engine,
                 pid, TerminalSafe(view.command));
    }
  };
  // Why a listener's bind failed or will fail: it asked for any port past the pinned ones.
  auto past_the_last = [&plan](Protocol proto) {
    const std::size_t ports = plan->rewrite.PortsOf(proto).size();
    return ports == 1 ? fmt::format("A second listener of {} asking for any port cannot have the one "
                                    "static port too: name a service for each with --ports",
                                    ProtocolName(proto))
                      : fmt::format("Listeners of {} past the {} pinned ports (--ports) get the last one",
                                    ProtocolName(proto), ports);
  };
  events.moved = [past_the_last](const MovedBind& m) {
    if (!m.unfetched.empty()) {
      const char* name = ::strerrorname_np(m.error);
      PrintWarning(fmt::format("pid {}: its bind of {} could not be pinned, so it failed with {} "
                               "rather than listen on a port of its own: berth could not fetch "
                               "its socket: {}",
                               m.pid, m.asked == 0 ? std::string("any port") : fmt::format("port {}", m.asked),
                               name != nullptr ? name : std::to_string(m.error), m.unfetched));
      return;
    }
    if (m.error == 0) return;
    PrintWarning(fmt::format("pid {}: its bind of {} port {}, moved to {}, failed ({}); the command "
                             "got that error. {}", m.pid, ProtocolName(m.proto), m.asked, m.bound,
                             ErrnoError(m.error, "bind").message, past_the_last(m.proto)));
  };
  // Once per protocol and family: a server that closes its listener and binds it again (a
  // reload) passes here at every bind, and the first warning says all there is to say.
  events.overflow = [past_the_last, told = std::array<bool, 4>{}](const BindOverflow& o) mutable {
    bool& once = told[static_cast<std::size_t>(CounterSlot(o.proto, o.family))];
    if (std::exchange(once, true)) return;
    PrintWarning(fmt::format("the command's {} bind #{} to any port ({}) was given port {} as well, "
                             "which an earlier bind holds unless it closed it: this one fails with "
                             "EADDRINUSE unless both sockets set SO_REUSEPORT (further such binds "
                             "are not told). {}",
                             ProtocolName(o.proto), o.rank + 1,
                             o.family == BindFamily::kInet4 ? "IPv4" : "IPv6", o.port,
                             past_the_last(o.proto)));
  };
  auto outcome = app::RunPinned(*plan, f.command, events);
  if (!outcome) return PrintError(outcome.error());
  if (outcome->end.signal) EndLikeTheCommand(*outcome->end.signal);
  return outcome->end.status();
}

}  // namespace

void AddPinCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<PinFlags>();
  CLI::App* cmd = app.add_subcommand(
      "pin", "Run a server that binds \"any port\" (port 0) so that it listens on the registry's "
             "static port for NAME, every time, without changing the server. Without a command, "
             "says what it would do.");
  cmd->add_option("name", f->name, "the registered service (berth assign NAME first, or --assign)")
      ->required();
  cmd->add_option("command", f->command, "the server and its arguments, after --");
  cmd->add_option("--engine", f->engine,
                  "cgroup-bpf: a cgroup v2 with a bind4/bind6 BPF program (needs CAP_BPF and "
                  "CAP_NET_ADMIN; catches every bind, static binaries and io_uring included); "
                  "seccomp: a supervisor answers bind(2) (no privilege; misses io_uring); "
                  "preload: an LD_PRELOAD shim, the last resort (misses raw syscalls, static "
                  "binaries and io_uring); auto: cgroup-bpf when privileged, else seccomp")
      ->check(CLI::IsMember({"auto", "cgroup-bpf", "seccomp", "preload"}))->capture_default_str();
  cmd->add_option("--ports", f->more,
                  "further registered services for the command's second, third... listener: the "
                  "listeners of a protocol take NAME's port, then these, in the order they bind "
                  "(counted per address family: a listener's IPv4 and IPv6 sockets get the same "
                  "port)")
      ->delimiter(',')->allow_extra_args(false)->type_name("NAME,...");
  cmd->add_option("--from", f->from, "also move binds to these ports (the server's own "
                                     "\"dynamic\" choice), e.g. 32768-60999")->type_name("PORTS");
  cmd->add_flag("--assign", f->assign, "register NAME (and the --ports names) first when it is "
                                       "not (as berth assign NAME)");
  cmd->add_option("--proto", f->proto, "with --assign: tcp, udp or both (default tcp)");
  cmd->add_flag("--json", f->json, "print the plan as JSON (schema berth.pin/1); with a command, "
                                   "the start line on stderr as one JSON object");
  cmd->add_flag("--print-unit", f->print_unit,
                "print the clean alternative instead: a systemd .socket unit on NAME's port for a "
                "server that supports socket activation, or the port option of a daemon berth "
                "knows (nfs.conf for nfs.statd, nfs.mountd, nfs.lockd)");
  AddStoreOptions(cmd, f->store);
  cmd->footer(
      "Exit status: with a command, the command's; when a signal N killed it, berth ends by the "
      "same signal (a shell shows 128+N; systemd a clean stop), or exits 128+N for a signal "
      "that dumps core; 2 when berth could not start it. Without a command: 0 the port is free, "
      "1 it is in use, 2 error.\n"
      "Signals INT, TERM, HUP, QUIT, USR1, USR2 and WINCH are passed to the command. The cgroup, "
      "the BPF programs and the reservation berth added are removed when the command ends.\n"
      "Example: sudo berth pin --assign web -- python3 -m http.server 0\n"
      "Under systemd: ExecStart=berth pin NAME -- /usr/sbin/daemon --foreground, with "
      "Delegate=yes (berth makes a cgroup inside the unit's).\n"
      "A server that supports socket activation or a port option needs no pin: see "
      "--print-unit. docs/pin.md: the engines, what each catches and misses.");
  cmd->callback([f, &exit_code] { exit_code = RunPin(*f); });
}

}  // namespace berth::cli
