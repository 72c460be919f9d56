// PowerShell for Windows hosts (docs/windows.md): the collector script that `berth collect
// --format powershell` prints, and the remedy script `berth remedy --format powershell`
// writes from a WindowsRemedyPlan. Both run on Windows PowerShell 5.1 and PowerShell 7 with
// the modules Windows ships. Every untrusted string lands in a single-quoted literal
// (PowerShellQuote) or a comment (CommentText). Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/sink.h"
#include "core/port.h"
#include "core/windows_host.h"

namespace berth {

// The collector: reads listeners and owners, the dynamic and excluded port ranges, SQL Server
// instances, Rpc\Internet and the firewall rules that name local ports, changes nothing, and
// writes one berth.windows/1 JSON document (UTF-8, to -Path or to the output).
void RenderWindowsCollector(const Sink& sink);

// What the remedy script changes on one host; built by app::PlanWindowsRemedy.
struct WindowsRemedyPlan {
  std::string host;   // the computer name, as collected
  std::string group;  // the registry group the ports are claimed in
  struct Sql {
    std::string instance;  // "SQLEXPRESS"
    std::string id;        // "MSSQL16.SQLEXPRESS"; "" from a probe: the script looks it up
    std::string service;   // "mssql.sqlexpress"
    Port port = 0;         // the registry's port
    bool was_dynamic = false;
  };
  std::vector<Sql> sql;
  // RPC services with a port setting of their own, pinned first (KB 154596, KB 224196): on a
  // domain controller, AD replication (NTDS "TCP/IP Port") and Netlogon (DCTcpipPort); DFS
  // Replication (dfsrdiag StaticRPC); WMI alone in its svchost (winmgmt /standalonehost).
  struct RpcPin {
    std::string service;  // the registry claim, "msrpc.drsuapi"
    std::string key;      // kRegistryDword: "HKLM:\SYSTEM\CurrentControlSet\Services\NTDS\Parameters"
    std::string value;    // kRegistryDword: "TCP/IP Port" (REG_DWORD)
    Port port = 0;
    windows::PinMethod method = windows::PinMethod::kRegistryDword;
  };
  std::vector<RpcPin> rpc_pins;
  std::optional<PortRange> rpc_block;  // Rpc\Internet Ports; nullopt: left alone
  bool rpc_block_claimed = false;       // the block is the group's rpc.dynamic range claim
  // netsh int ipv4|ipv6 set dynamicport tcp|udp: where each collected range must move
  // (only those that must).
  std::vector<windows::PortBlock> dynamic_moves;
  // Registered ports inside a dynamic range and not yet excluded.
  std::vector<windows::PortBlock> exclusions;
  // Inbound allow rules to create: the registered ports of the host, by protocol.
  PortSet open_tcp, open_udp;
  // Broad rules the collector saw: removed only with -RemoveLegacy.
  std::vector<windows::FirewallRule> legacy;
  bool restart_note = false;  // some instance needs a restart
};

// The remedy script: [CmdletBinding(SupportsShouldProcess)] with -Restart and -RemoveLegacy;
// idempotent (each change is made only when the value differs, and the berth rule group is
// replaced as a whole); ends with a read-back of what is now set and what listens where.
void RenderWindowsRemedy(const WindowsRemedyPlan& plan, const Sink& sink);

// The same plan as JSON (schema berth.windows-remedy/1, docs/windows.md).
void RenderWindowsRemedyJson(const WindowsRemedyPlan& plan, const Sink& sink);

}  // namespace berth
