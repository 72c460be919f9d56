// berth collect and berth remedy: Windows hosts (docs/windows.md). `berth scan --from FILE`
// on a collected host lives in scan_cmd.cc.
#include <memory>

#include <fmt/core.h>

#include "app/windows.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/firewall_quote.h"
#include "emit/json_writer.h"
#include "emit/windows_script.h"

namespace berth::cli {
namespace {

struct CollectFlags {
  std::string format;
  bool json = false;
};

int RunCollect(const CollectFlags& f) {
  std::string script;
  RenderWindowsCollector([&](std::string_view s) { script += s; });
  if (!f.json) {
    WriteStdout(script);
    return 0;
  }
  JsonWriter w(JsonLayout::kPretty);
  w.BeginObject()
      .Field("schema", std::string_view("berth.collect/1"))
      .Field("format", f.format)
      .Field("output_schema", std::string_view("berth.windows/1"))
      .Field("script", script)
      .EndObject();
  WriteStdout(w.Take() + "\n");
  return 0;
}

struct RemedyFlags {
  std::string format;
  std::string from;
  std::string host;
  std::string group;
  std::string rpc_ports;
  bool json = false;
  StoreFlags store;
};

int RunRemedy(const RemedyFlags& f) {
  if (f.from.empty()) {
    return PrintError(fmt::format(
        "berth remedy needs the collected host: the registry keeps what scans saw listening, not a "
        "Windows host's SQL Server, RPC and firewall settings. Collect it with the script that "
        "'berth collect --format powershell' prints (or probe it: berth probe --json), then: berth "
        "remedy --format powershell --from FILE{}",
        f.host.empty() ? std::string() : " --host " + ShellQuote(TerminalSafe(f.host, 255))));
  }
  app::WindowsRemedyRequest req;
  req.group = f.group;
  if (!f.rpc_ports.empty()) {
    auto r = ParsePortRange(f.rpc_ports);
    if (!r) return PrintError(Wrap(r.error(), "--rpc-ports: "));
    req.rpc_block = *r;
  }
  auto loaded = app::LoadRemedyHost(f.from, f.host);
  if (!loaded) {
    if (loaded.error().code == ErrorCode::kConflict) {
      return PrintError(loaded.error().message + " with --host NAME");
    }
    return PrintError(loaded.error());
  }
  const windows::WindowsHost* host = &loaded->host;
  if (loaded->from_probe) {
    fmt::print(stderr,
               "berth: {} is a berth probe document: the script pins {}'s SQL Server instances "
               "only. The dynamic ranges, exclusions, RPC services and legacy firewall rules need "
               "the collected host (berth collect --format powershell).\n",
               TerminalSafe(f.from, 255), TerminalSafe(host->snap.hostname, 255));
  } else if (!f.host.empty() && !windows::SameWindowsName(f.host, host->snap.hostname)) {
    return PrintError(fmt::format("--host {}: {} was collected on {}", TerminalSafe(f.host, 255),
                                  TerminalSafe(f.from, 255), TerminalSafe(host->snap.hostname, 255)));
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  auto result = app::PlanWindowsRemedy(*host, **store, req);
  if (!result) return PrintError(result.error());
  for (const registry::Assignment& a : result->claimed) {
    if (a.created) {
      fmt::print(stderr, "berth: claimed {} = {}/tcp in group {}\n", TerminalSafe(a.record.service.name),
                 FormatRange(PortsOf(a.record.service)), TerminalSafe(a.record.service.group));
    }
  }
  if (result->plan.rpc_block) {
    fmt::print(stderr,
               "berth: the RPC block {} is {}'s range claim in group {}. The host needs a REBOOT "
               "after the script for RPC to use it.\n",
               FormatRange(*result->plan.rpc_block), windows::kRpcBlockService,
               TerminalSafe(result->plan.group));
  }
  if (f.json) {
    RenderWindowsRemedyJson(result->plan, kStdoutSink);
  } else {
    RenderWindowsRemedy(result->plan, kStdoutSink);
  }
  return 0;
}

}  // namespace

void AddCollectCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<CollectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "collect",
      "Print a script that collects another kind of host for 'berth scan --from': today a "
      "PowerShell script for Windows (listeners and their processes and services, dynamic and "
      "excluded port ranges, SQL Server instances, Rpc\\Internet, firewall rules that name ports). "
      "It changes nothing and writes one JSON document (schema berth.windows/1).");
  cmd->add_option("--format", f->format, "the script's language: powershell (Windows PowerShell 5.1 or PowerShell 7)")
      ->check(CLI::IsMember({"powershell"}))
      ->required();
  cmd->add_flag("--json", f->json,
                "print {schema: berth.collect/1, format, output_schema, script} instead of the script");
  cmd->footer(
      "Exit status: 0 ok, 2 error.\n"
      "Examples:\n"
      "  berth collect --format powershell > berth-collect.ps1\n"
      "  (on Windows, elevated) powershell.exe -NoProfile -ExecutionPolicy Bypass -File "
      ".\\berth-collect.ps1 -Path .\\win1.json\n"
      "  berth scan --from win1.json        audit it here; its listeners join the fleet view");
  cmd->callback([f, &exit_code] { exit_code = RunCollect(*f); });
}

void AddRemedyCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<RemedyFlags>();
  CLI::App* cmd = app.add_subcommand(
      "remedy",
      "Write the script that pins a collected Windows host: each SQL Server instance on the port "
      "the registry claims for it (mssql.INSTANCE), TcpDynamicPorts cleared; the RPC services "
      "with a port setting of their own (NTDS and Netlogon on a domain controller, DFS "
      "Replication with dfsrdiag StaticRPC, WMI alone on TCP 24158 with winmgmt /standalonehost; "
      "claimed as msrpc.drsuapi, msrpc.netlogon, msrpc.dfsr, msrpc.wmi); an optional RPC port "
      "block in Rpc\\Internet, claimed as rpc.dynamic; the OS dynamic range within netsh's limits and off the RPC block; "
      "registered ports excluded from the dynamic range; firewall rules for exactly the registered "
      "ports. The script supports -WhatIf, -Restart and -RemoveLegacy and ends with a read-back. "
      "From a berth probe --json document it pins the named host's SQL Server instances only.");
  cmd->add_option("--format", f->format, "the script's language: powershell")
      ->check(CLI::IsMember({"powershell"}))
      ->required();
  cmd->add_option("--from", f->from,
                  "the collected host: the JSON written by the script 'berth collect --format "
                  "powershell' prints (UTF-8 or UTF-16); or a 'berth probe --json' document, of "
                  "which the SQL Server instances of --host are pinned")
      ->type_name("FILE");
  cmd->add_option("--host", f->host, "the host's computer name; checked against the collected one "
                                     "(a probe document: its target, address or computer name)")
      ->type_name("NAME");
  cmd->add_option("--group", f->group,
                  "registry group to claim the ports in (default: the one group that lists the host)")
      ->type_name("GROUP");
  cmd->add_option("--rpc-ports", f->rpc_ports,
                  "restrict MS-RPC's dynamic ports to this block, e.g. 5000-5255, and claim it as "
                  "the group's range rpc.dynamic: at least 100 ports from 1025 up, not 1434, outside "
                  "the host's dynamic range, holding no registered port (checked before anything is "
                  "claimed); needs a reboot of the host (default: the range the group's rpc.dynamic "
                  "claims, when it has one: berth assign rpc.dynamic --size 256 --group GROUP)")
      ->type_name("LO-HI");
  cmd->add_flag("--json", f->json, "print the plan as JSON (schema berth.windows-remedy/1, docs/windows.md)");
  AddStoreOptions(cmd, f->store);
  cmd->footer(
      "Exit status: 0 ok, 2 error.\n"
      "Examples:\n"
      "  berth group add win --host WIN1\n"
      "  berth remedy --format powershell --from win1.json > pin-win1.ps1\n"
      "  berth remedy --format powershell --from win1.json --rpc-ports 5000-5255 > pin-win1.ps1\n"
      "  berth assign rpc.dynamic --size 256 --group win\n"
      "  berth remedy --format powershell --from win1.json\n"
      "  (the RPC block is then that range claim)\n"
      "  (on WIN1, elevated) .\\pin-win1.ps1 -WhatIf; then .\\pin-win1.ps1 -Restart");
  cmd->callback([f, &exit_code] { exit_code = RunRemedy(*f); });
}

}  // namespace berth::cli
