// berth scan and berth pressure: audit this host's sockets.
#include <chrono>
#include <memory>

#include <fmt/core.h>

#include "app/scan.h"
#include "app/windows.h"
#include "base/text.h"
#include "base/clock.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "core/socket_filter.h"
#include "emit/firewall_quote.h"
#include "emit/scan_render.h"
#include "host/host_recorder.h"
#include "host/live_host.h"
#include "host/proc_owners.h"
#include "host/recorded_host.h"

namespace berth::cli {
namespace {

struct ScanFlags {
  HostQuery query;
  LiveHost::Options live;
  bool json = false;
  bool pressure = false;
  bool timing = false;
  bool all_owners = false;
  bool no_procs = false;
  bool tcp_only = false;
  bool udp_only = false;
  std::string fail_on = "warning";
  std::string color = "auto";
  std::string owner_walk = "auto";
  std::string from;          // a recorded host instead of this one
  std::string record;        // record this host into a directory first
  StoreFlags store;          // registry (docs/registry.md); empty = the default one
  bool no_registry = false;
  bool no_header = false;
  bool ss_noop = false;     // -l, -n, -p: what berth does anyway
  bool v4_only = false;
  bool v6_only = false;
  std::string ports;        // --port
  std::vector<std::string> states;
  SocketFilter filter;
  CLI::Option* netns_option = nullptr;  // set when the flags are added: was --netns given?
};

void AddCommonFlags(CLI::App* cmd, ScanFlags& f) {
  f.netns_option = cmd->add_option("--netns", f.live.netns,
                  "audit another network namespace: a name from 'ip netns list' or a path such "
                  "as /proc/PID/ns/net (needs root)");
  cmd->add_flag("--json", f.json, "print JSON (schema berth.scan/2, docs/scan-json.md)");
  cmd->add_option("--fail-on", f.fail_on,
                  "exit 1 when a finding is at least this severe: info, warning, error, or none")
      ->check(CLI::IsMember({"info", "warning", "error", "none"}))
      ->capture_default_str();
  cmd->add_option("--color", f.color, "colour: auto (on a terminal, unless NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_flag("--no-procs", f.no_procs, "skip process attribution (no /proc walk): fastest");
  cmd->add_flag("--all-owners", f.all_owners,
                "find every process holding each socket (walks all of /proc; by default the "
                "walk of a scan of servers stops once each socket has an owner; --all and the "
                "BPF walk find every owner anyway)");
  cmd->add_option("--owner-walk", f.owner_walk,
                  "how owners are found: auto (a BPF iterator, one pass in the kernel, when berth "
                  "may load it: CAP_BPF and CAP_PERFMON, kernel BTF; else the /proc walk, with "
                  "the same owners), bpf (an error when it cannot run), proc")
      ->check(CLI::IsMember({"auto", "bpf", "proc"}))
      ->capture_default_str();
  cmd->add_option("--threads", f.live.walk.threads,
                  fmt::format("threads for the /proc walk (default: one per core, at most 8; at most {})",
                              kMaxWalkThreads));
  cmd->add_flag("--timing", f.timing, "print where the time went to stderr");
  cmd->add_option("--from", f.from,
                  "audit a recorded host instead of this one: a 'berth scan --json' file, a "
                  "directory written by --record (docs/recorded-hosts.md), or a Windows host "
                  "collected by the script 'berth collect --format powershell' prints "
                  "(docs/windows.md); no root needed")
      ->type_name("PATH");
  cmd->add_option("--record", f.record,
                  "record this host (raw netlink replies, sysctls, the owners' /proc entries) "
                  "into a new directory, then audit the recording; --from DIR replays it")
      ->type_name("DIR");
}

int Run(ScanFlags& f, bool pressure_command) {
  if (f.netns_option != nullptr && f.netns_option->count() > 0 &&
      f.live.netns.find_first_not_of(" \t") == std::string::npos) {
    return PrintError(
        "--netns was given an empty name: give a name from 'ip netns list' or a path such as /proc/PID/ns/net "
        "(without --netns, berth audits its own namespace)");
  }
  if (f.live.walk.threads > kMaxWalkThreads) {
    return PrintError(fmt::format("--threads {}: at most {} (the /proc walk gains nothing from more; 0 picks one "
                                  "per core)",
                                  f.live.walk.threads, kMaxWalkThreads));
  }
  f.query.resolve_owners = !f.no_procs;
  f.live.walk.stop_when_all_found = !f.all_owners;
  f.live.walk.via = f.owner_walk == "bpf" ? OwnerWalk::kBpf
                    : f.owner_walk == "proc" ? OwnerWalk::kProc
                                             : OwnerWalk::kAuto;
  // ss's -t and -u add protocols: either alone narrows, both (ss -tu) is both.
  if (f.tcp_only && !f.udp_only) f.query.udp = false;
  if (f.udp_only && !f.tcp_only) f.query.tcp = false;
  if (f.v4_only && f.v6_only) return PrintError("-4 and -6 together: give at most one");
  f.filter.family = f.v4_only ? 4 : f.v6_only ? 6 : 0;
  if (!f.ports.empty()) {
    auto set = PortSet::Parse(f.ports);
    if (!set || set->empty()) {
      return PrintError(fmt::format("--port {}: give ports or ranges such as 22 or 8000-8099,9090",
                                    TerminalSafe(f.ports, 64)));
    }
    f.filter.ports = *set;
  }
  for (const std::string& name : f.states) {
    auto state = ParseStateName(name);
    if (!state) return PrintError(Wrap(state.error(), "--state: "));
    f.filter.states.push_back(*state);
    // Any state but a server's needs every socket read, as -a does.
    if (*state != SocketState::kListen && *state != SocketState::kClose) f.query.all_states = true;
  }
  if (f.no_procs && (!f.filter.processes.empty() || !f.filter.units.empty())) {
    return PrintError("--process and --unit match sockets by their owners, which --no-procs skips: "
                      "leave one of them out");
  }
  if (pressure_command) f.query.udp = false;
  const bool rows_all = f.query.all_states;

  app::ScanRequest request;
  request.query = f.query;
  request.audit = !pressure_command;
  request.pressure = pressure_command || f.pressure;
  request.filter = f.filter;
  app::OpenedScanRegistry reg;
  if (pressure_command || f.no_registry) {
    reg.use.enabled = false;
  } else {
    reg = app::OpenScanRegistry(ResolveStore(f.store));
  }

  if (!f.from.empty() && (!f.live.netns.empty() || !f.record.empty())) {
    return PrintError("--from audits a recording: it goes with neither --netns nor --record");
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (!f.record.empty()) {
    HostQuery everything = request.query;
    if (request.pressure) everything.all_states = true;
    auto recorded = RecordHost(f.record, f.live, everything);
    if (!recorded) return PrintError(recorded.error());
    fmt::print(stderr, "berth: recorded {} sockets and {} owning processes in {}\n",
               recorded->sockets, recorded->processes, f.record);
    f.from = f.record;
  }
  LiveHost live(f.live);
  RecordedHost recording(f.from);
  HostSource& host = f.from.empty() ? static_cast<HostSource&>(live) : recording;
  SystemClock clock;
  Result<app::ScanResult> r = Fail(ErrorCode::kInternal, "no scan");
  if (!f.from.empty() && app::IsWindowsCollection(f.from)) {
    // A collected Windows host (docs/windows.md): its own audit, the same registry steps.
    if (pressure_command) return PrintError("berth pressure needs a Linux host: a collected Windows host holds listeners only");
    auto win = app::LoadWindowsHost(f.from);
    if (!win) return PrintError(win.error());
    r = app::ScanWindows(request, std::move(*win),
                         "berth remedy --format powershell --from " + ShellQuote(f.from), reg.use, clock);
  } else {
    r = app::Scan(request, host, reg.use, clock);
  }
  if (!r) return PrintError(r.error());
  if (r->registry_error) {
    r->snap.warnings.push_back(fmt::format("registry not used ({}); the scan itself is complete. "
                                           "--no-registry skips the registry",
                                           r->registry_error->message));
  }
  ScanView view{&r->snap, &r->findings, r->pressure ? &*r->pressure : nullptr, rows_all,
                !pressure_command, r->registry.empty() ? nullptr : &r->registry,
                pressure_command ? "pressure" : "scan", !f.no_header, TerminalWidth()};
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) {
    RenderScanJson(view, sink);
  } else {
    RenderScanText(view, UseColor(ParseColorMode(f.color)), sink);
  }
  if (f.timing && !f.from.empty()) {
    fmt::print(stderr, "timing: replayed {} in {:.4f} s\n", f.from,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } else if (f.timing) {
    const ScanStats& stats = live.last_stats();
    std::string owners = "owners not looked up";
    if (r->snap.owners_walk == OwnerWalk::kBpf) {
      owners = fmt::format("owners: BPF walk {:.4f} s ({} socket fds in {} processes)", stats.owners_seconds,
                           stats.walk.fds, stats.walk.processes);
    } else if (r->snap.owners_walk == OwnerWalk::kProc) {
      owners = fmt::format("owners: /proc walk {:.4f} s ({} processes, {} fds, {} threads, {})",
                           stats.owners_seconds, stats.walk.processes, stats.walk.fds, stats.walk.threads,
                           stats.walk.stopped_early ? "stopped early" : "walked all");
    }
    if (stats.owners_beside_dump) {
      owners += fmt::format(" beside the dump, waited for {:.4f} s", stats.owners_waited_seconds);
    }
    if (!r->snap.owners_walk_fallback.empty()) {
      owners += fmt::format(" [BPF walk not used: {}]", r->snap.owners_walk_fallback);
    }
    fmt::print(stderr, "timing: netlink+sysctl {:.4f} s, {}, total {:.4f} s\n", stats.netlink_seconds, owners,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return FindingsExitCode(r->findings, f.fail_on);
}

}  // namespace

void AddScanCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "scan",
      "Audit every socket on this host: who owns it, which port class it is in, what is wrong "
      "and how to fix it. By default lists TCP listeners and bound UDP sockets.");
  cmd->add_flag("-a,--all", flags->query.all_states,
                "list sockets in every state (established, TIME-WAIT, ...), not only servers");
  cmd->add_flag("-t,--tcp", flags->tcp_only, "TCP sockets (with -u too: both, as in ss -tu)");
  cmd->add_flag("-u,--udp", flags->udp_only, "UDP sockets (with -t too: both)");
  cmd->add_flag("-l,--listening", flags->ss_noop,
                "servers only: TCP listeners and bound UDP sockets (the default; ss's -l)");
  cmd->add_flag("-n,--numeric", flags->ss_noop, "numeric ports and addresses (always; ss's -n)");
  cmd->add_flag("-p,--processes", flags->ss_noop,
                "owning processes (always, unless --no-procs; ss's -p)");
  cmd->add_flag("-4,--ipv4", flags->v4_only, "IPv4 sockets only");
  cmd->add_flag("-6,--ipv6", flags->v6_only, "IPv6 sockets only");
  cmd->add_flag("-H,--no-header", flags->no_header,
                "the socket rows alone, for scripts: no host line, column header, notes or "
                "findings (the exit code still follows --fail-on; ss's -H)");
  cmd->add_option("--port", flags->ports,
                  "only sockets on these local ports, e.g. 22 or 8000-8099,9090 (ss's sport)")
      ->type_name("PORTS");
  cmd->add_option("--process", flags->filter.processes,
                  "only sockets owned by a process with this command name (/proc/PID/comm; "
                  "repeat for several)")
      ->type_name("COMM");
  cmd->add_option("--unit", flags->filter.units,
                  "only sockets owned by this systemd unit ('ssh' means ssh.service; repeat for "
                  "several)")
      ->type_name("UNIT");
  cmd->add_option("--state", flags->states,
                  "only sockets in this state (ss's names: listening, established, time-wait, "
                  "unconn, ...; repeat for several; other than listening/unconn implies --all)")
      ->type_name("STATE");
  cmd->add_flag("--pressure", flags->pressure,
                "add ephemeral-port pressure per (source IP, destination IP:port)");
  AddCommonFlags(cmd, *flags);
  cmd->add_option("--store", flags->store.store,
                  "registry URL to match listeners against and record this scan in "
                  "(sqlite:///PATH, etcd[s]://HOST:PORT/PREFIX; default: $BERTH_STORE, else --db)")
      ->type_name("URL");
  AddStoreSecurityOptions(cmd, flags->store.security);
  cmd->add_option("--db", flags->store.db, "registry to match listeners against and record this scan "
                                           "in (default: $BERTH_DB, else the per-user or system one)");
  cmd->add_flag("--no-registry", flags->no_registry,
                "do not consult or update the registry (no REG column, no observations)");
  cmd->footer(
      "Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.\n"
      "Examples:\n"
      "  berth scan                      servers on this host, with findings\n"
      "  berth scan -tlnp --port 22      ss habits: the sshd listener and what is wrong with it\n"
      "  berth scan -H -t --unit nginx   nginx's TCP listeners, rows only, for a script\n"
      "Filters (--port, --process, --unit, --state, -4/-6) narrow what is shown; the whole host\n"
      "is still audited and recorded.\n"
      "  berth scan --all --pressure     every socket, plus outbound port pressure\n"
      "  sudo berth scan --netns web1    another network namespace\n"
      "  berth scan --json | jq '.findings[]'\n"
      "  berth scan --json > web1.json; berth scan --from web1.json   audit a recorded host");
  cmd->callback([flags, &exit_code] { exit_code = Run(*flags, false); });
}

void AddPressureCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "pressure",
      "Ephemeral-port pressure: for each (source IP, destination IP:port), how many TCP sockets "
      "hold an ephemeral port, how many are in TIME-WAIT, and the share of the usable range they "
      "take (warning from 50 %, error from 80 %).");
  AddCommonFlags(cmd, *flags);
  cmd->footer("Exit status: 0 below --fail-on, 1 findings, 2 error.");
  cmd->callback([flags, &exit_code] { exit_code = Run(*flags, true); });
}

}  // namespace berth::cli
