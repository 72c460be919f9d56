// berth pin: run a server that binds "any port" on its registered static port
// (src/app/pin.h, docs/pin.md).
#include <memory>

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

PinView ToView(const app::PinPlan& plan) {
  PinView v;
  v.service = plan.service;
  v.from = plan.rewrite.from;
  v.engine = std::string(app::PinEngineName(plan.engine));
  v.engine_why = plan.engine_why;
  for (const app::PortHolder& h : plan.holders) {
    v.holders.push_back({std::string(ProtocolName(h.proto)), h.endpoint, h.state});
  }
  v.reserved = plan.reserved;
  v.can_reserve = plan.can_reserve;
  v.warnings = plan.warnings;
  return v;
}

// --assign: registers the name (berth assign NAME [--proto P]) when it is not yet.
Result<void> AssignIfMissing(const PinFlags& f) {
  auto store = BERTH_TRY(OpenRegistry(f.store, registry::OpenMode::kWrite));
  if (BERTH_TRY(store->GetService(f.name))) return {};
  registry::AssignRequest request;
  request.name = f.name;
  if (!f.proto.empty()) request.proto = BERTH_TRY(ParseServiceProto(f.proto));
  registry::HostView host = BERTH_TRY(TakeHostView());
  const std::vector<registry::AssignRequest> requests{request};
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
    return PrintError(fmt::format(
        "{}: port {} is in use ({} {} {}); the command was not started. Stop what holds the port "
        "(see 'ss -tulpn sport = :{}'), then run berth pin again",
        f.name, plan->service.port, ProtocolName(h.proto), h.endpoint, h.state, plan->service.port));
  }
  view.command = ShowCommand(f.command);
  if (!PinPortOption(plan->service).empty() && !f.json) {
    fmt::print(stderr, "berth: pin: note: {} has a port option, which needs no pin: see 'berth "
                       "pin --print-unit {}'\n", f.name, f.name);
  }
  events.started = [&](pid_t pid) {
    view.pid = pid;
    if (f.json) {
      RenderPinPlan(view, form, true, [](std::string_view s) { fmt::print(stderr, "{}", s); });
    } else {
      fmt::print(stderr, "berth: pin: {} on {}/{} with the {} engine, pid {}: {}\n", f.name,
                 plan->service.port, ServiceProtoName(plan->service.proto), view.engine, pid,
                 TerminalSafe(view.command));
    }
  };
  events.moved = [](const MovedBind& m) {
    if (m.error != 0) {
      PrintWarning(fmt::format(
          "pid {}: its bind of {} port {}, moved to {}, failed ({}); the command got that error. "
          "A second listener of the pinned protocol asking for any port cannot have the one "
          "static port too",
          m.pid, ProtocolName(m.proto), m.asked, m.bound, ErrnoError(m.error, "bind").message));
    }
  };
  auto outcome = app::RunPinned(*plan, f.command, events);
  if (!outcome) return PrintError(outcome.error());
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
  cmd->add_option("--from", f->from, "also move binds to these ports (the server's own "
                                     "\"dynamic\" choice), e.g. 32768-60999")->type_name("PORTS");
  cmd->add_flag("--assign", f->assign, "register NAME first when it is not (as berth assign NAME)");
  cmd->add_option("--proto", f->proto, "with --assign: tcp, udp or both (default tcp)");
  cmd->add_flag("--json", f->json, "print the plan as JSON (schema berth.pin/1); with a command, "
                                   "the start line on stderr as one JSON object");
  cmd->add_flag("--print-unit", f->print_unit,
                "print the clean alternative instead: a systemd .socket unit on NAME's port for a "
                "server that supports socket activation, or the port option of a daemon berth "
                "knows (nfs.conf for nfs.statd, nfs.mountd, nfs.lockd)");
  AddStoreOptions(cmd, f->store);
  cmd->footer(
      "Exit status: with a command, the command's (128+N when killed by signal N), 2 when berth "
      "could not start it; without, 0 the port is free, 1 it is in use, 2 error.\n"
      "Signals INT, TERM, HUP, QUIT, USR1, USR2 and WINCH are passed to the command. The cgroup, "
      "the BPF programs and the reservation berth added are removed when the command ends.\n"
      "Example: sudo berth pin --assign web -- python3 -m http.server 0\n"
      "A server that supports socket activation or a port option needs no pin: see "
      "--print-unit. docs/pin.md: the engines, what each catches and misses.");
  cmd->callback([f, &exit_code] { exit_code = RunPin(*f); });
}

}  // namespace berth::cli
