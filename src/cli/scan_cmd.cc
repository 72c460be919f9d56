// berth scan and berth pressure: audit this host's sockets.
#include <chrono>
#include <memory>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "core/audit.h"
#include "core/pressure.h"
#include "emit/scan_render.h"
#include "host/scanner.h"

namespace berth::cli {
namespace {

struct ScanFlags {
  ScanOptions scan;
  bool json = false;
  bool pressure = false;
  bool timing = false;
  bool all_owners = false;
  bool no_procs = false;
  bool tcp_only = false;
  bool udp_only = false;
  std::string fail_on = "warning";
  std::string color = "auto";
  std::string db;            // registry (docs/registry.md); "" = the default one
  bool no_registry = false;
};

void AddCommonFlags(CLI::App* cmd, ScanFlags& f) {
  cmd->add_option("--netns", f.scan.netns,
                  "audit another network namespace: a name from 'ip netns list' or a path such "
                  "as /proc/PID/ns/net (needs root)");
  cmd->add_flag("--json", f.json, "print JSON (schema berth.scan/1, docs/scan-json.md)");
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
                "walk stops once each socket has an owner)");
  cmd->add_option("--threads", f.scan.walk.threads, "threads for the /proc walk (default: one per core, at most 8)");
  cmd->add_flag("--timing", f.timing, "print where the time went to stderr");
}

int Run(ScanFlags& f, bool pressure_command) {
  f.scan.resolve_owners = !f.no_procs;
  f.scan.walk.stop_when_all_found = !f.all_owners;
  if (f.tcp_only && f.udp_only) return PrintError("--tcp and --udp together: give at most one");
  if (f.tcp_only) f.scan.udp = false;
  if (f.udp_only) f.scan.tcp = false;
  const bool want_pressure = pressure_command || f.pressure;
  const bool rows_all = f.scan.all_states;
  if (want_pressure) {
    f.scan.all_states = true;  // pressure needs the connected sockets too
    if (pressure_command) f.scan.udp = false;
  }

  const auto t0 = std::chrono::steady_clock::now();
  ScanStats stats;
  auto snap = ScanHost(f.scan, &stats);
  if (!snap) return PrintError(snap.error());

  std::vector<Finding> findings = pressure_command ? std::vector<Finding>{} : AuditHost(*snap);
  std::unique_ptr<PressureReport> pressure;
  if (want_pressure) {
    pressure = std::make_unique<PressureReport>(AnalyzePressure(*snap));
    findings.insert(findings.begin(), pressure->findings.begin(), pressure->findings.end());
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  }

  std::vector<std::optional<RegistryMark>> marks;
  if (!pressure_command && !f.no_registry) {
    MatchScanWithRegistry(*snap, f.db, findings, marks);
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  }
  ScanView view{&*snap, &findings, pressure.get(), rows_all, !pressure_command,
                marks.empty() ? nullptr : &marks};
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) {
    RenderScanJson(view, sink);
  } else {
    RenderScanText(view, UseColor(ParseColorMode(f.color)), sink);
  }
  if (f.timing) {
    fmt::print(stderr,
               "timing: netlink+sysctl {:.4f} s, /proc walk {:.4f} s ({} processes, {} fds, {}), "
               "total {:.4f} s\n",
               stats.netlink_seconds, stats.owners_seconds, stats.walk.processes, stats.walk.fds,
               stats.walk.stopped_early ? "stopped early" : "walked all",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  if (f.fail_on == "none") return 0;
  const Severity threshold = *ParseSeverity(f.fail_on);
  for (const Finding& fd : findings) {
    if (fd.severity >= threshold) return 1;
  }
  return 0;
}

}  // namespace

void AddScanCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "scan",
      "Audit every socket on this host: who owns it, which port class it is in, what is wrong "
      "and how to fix it. By default lists TCP listeners and bound UDP sockets.");
  cmd->add_flag("-a,--all", flags->scan.all_states,
                "list sockets in every state (established, TIME-WAIT, ...), not only servers");
  cmd->add_flag("-t,--tcp", flags->tcp_only, "TCP only");
  cmd->add_flag("-u,--udp", flags->udp_only, "UDP only");
  cmd->add_flag("--pressure", flags->pressure,
                "add ephemeral-port pressure per (source IP, destination IP:port)");
  AddCommonFlags(cmd, *flags);
  cmd->add_option("--db", flags->db, "registry to match listeners against and record this scan "
                                     "in (default: $BERTH_DB, else the per-user or system one)");
  cmd->add_flag("--no-registry", flags->no_registry,
                "do not consult or update the registry (no REG column, no observations)");
  cmd->footer(
      "Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.\n"
      "Examples:\n"
      "  berth scan                      servers on this host, with findings\n"
      "  berth scan --all --pressure     every socket, plus outbound port pressure\n"
      "  sudo berth scan --netns web1    another network namespace\n"
      "  berth scan --json | jq '.findings[]'");
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
