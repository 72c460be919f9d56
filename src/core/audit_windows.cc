// The Windows audit: see core/audit_windows.h. The fixes follow MS KB 154596 (RPC ports),
// KB 929851 (the dynamic port range) and "Configure a server to listen on a specific TCP
// port" (SQL Server); docs/windows.md explains each.
#include "core/audit_windows.h"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/core.h>

#include "core/audit_parts.h"
#include "core/service.h"

namespace berth::windows {
namespace {

bool HostsService(const ProcessInfo& p, std::string_view service) {
  // unit: the services a process hosts, comma-separated.
  std::string_view units = p.unit;
  while (!units.empty()) {
    const std::size_t comma = units.find(',');
    const std::string_view one = units.substr(0, comma);
    if (one.size() == service.size() &&
        std::equal(one.begin(), one.end(), service.begin(), [](char a, char b) {
          return (a | 0x20) == (b | 0x20);
        })) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    units.remove_prefix(comma + 1);
  }
  return false;
}

bool SameCommand(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// A service the endpoint mapper or the SQL Server Browser lets clients find, with the setting
// that pins it on its own.
struct Companion {
  std::string_view command;  // process name; "" = any process hosting `service`
  std::string_view service;  // Windows service name; "" = any service of `command`
  std::string_view what;
  std::string_view fix;
  bool remedy_pins = false;  // berth remedy's script pins it (windows::kRpcPins)
};

constexpr std::array kCompanions{
    Companion{"sqlservr", "", "SQL Server instance (found through the SQL Server Browser)",
              "pin it: see its sql-dynamic-port finding"},
    Companion{"lsass", "", "Active Directory (NTDS replication, Netlogon: lsass)",
              "pin AD replication and Netlogon on ports of their own (KB 224196): "
              "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters 'TCP/IP Port' "
              "(REG_DWORD) and HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters "
              "DCTcpipPort (REG_DWORD), each claimed in the registry (berth assign "
              "msrpc.drsuapi, berth assign msrpc.netlogon); restart the domain controller",
              true},
    Companion{"dfsrs", "", "DFS Replication",
              "pin it: dfsrdiag StaticRPC /port:PORT /Member:THIS-SERVER with a port claimed in "
              "the registry (berth assign msrpc.dfsr)",
              true},
    Companion{"", "Winmgmt", "WMI (Winmgmt)",
              "run WMI in its own host on its fixed port 24158: winmgmt /standalonehost, then "
              "restart the Winmgmt service (its firewall rule: TCP 24158)",
              true},
};

const Companion* FindCompanion(const ProcessInfo& p) {
  for (const Companion& c : kCompanions) {
    if (!c.command.empty() && SameCommand(p.command, c.command)) return &c;
    if (c.command.empty() && HostsService(p, c.service)) return &c;
  }
  return nullptr;
}

bool Listens(const HostSnapshot& snap, Protocol proto, Port port) {
  return std::any_of(snap.sockets.begin(), snap.sockets.end(), [&](const SocketRecord& s) {
    return s.is_server() && s.proto == proto && s.local_port == port;
  });
}

std::string Range(PortRange r) { return fmt::format("{}-{}", r.low, r.high); }

void MapperFindings(const audit::AuditInput& in, std::string_view remedy, std::vector<Finding>& out) {
  for (std::size_t i = 0; i < in.snap.sockets.size(); ++i) {
    const SocketRecord& s = in.snap.sockets[i];
    if (!s.is_server()) continue;
    const bool epm = s.proto == Protocol::kTcp && s.local_port == kEndpointMapperPort;
    const bool browser = s.proto == Protocol::kUdp && s.local_port == kSqlBrowserPort;
    if (!epm && !browser) continue;
    const int owner = in.snap.PrimaryOwner(static_cast<std::uint32_t>(i));
    const std::string subject = audit::Subject(in.snap, owner);
    if (std::any_of(out.begin(), out.end(), [&](const Finding& f) {
          return f.subject == subject && f.proto == s.proto;
        })) {
      continue;
    }
    Finding f{.id = FindingId::kPortMapper,
              .severity = Severity::kWarning,
              .subject = subject,
              .proto = s.proto,
              .ports = PortSet{PortRange{s.local_port, s.local_port}},
              .pids = {},
              .why = epm ? "the DCE/MS-RPC endpoint mapper is live: it hands RPC clients ports "
                           "from the dynamic range that change on every restart, so firewalls "
                           "must open the whole range"
                         : "the SQL Server Browser is live: it hands clients the port of a "
                           "named instance, which moves when the instance takes a dynamic port",
              .fix = epm ? fmt::format(
                               "pin the RPC services that have a port setting of their own "
                               "(their mapped-service findings); restrict the rest to a block of "
                               "at least {} free ports outside the dynamic range (5000-5255 here, "
                               "or another), run on the host the script printed by the command "
                               "below, then reboot it; the endpoint mapper itself stays on TCP "
                               "135: {} --rpc-ports 5000-5255",
                               kRpcBlockMinPorts, remedy)
                         : "pin every instance (its sql-dynamic-port finding), move clients to "
                           "Server=tcp:HOST,PORT, then stop the Browser: Set-Service -Name "
                           "SQLBrowser -StartupType Disabled; Stop-Service -Name SQLBrowser"};
    if (owner >= 0) f.pids.push_back(in.snap.processes[static_cast<std::size_t>(owner)].pid);
    out.push_back(std::move(f));
  }
}

void SqlFindings(const WindowsHost& host, std::string_view remedy, std::vector<Finding>& out) {
  for (const SqlInstance& sql : host.sql) {
    if (!sql.dynamic()) continue;
    auto ports = PortSet::Parse(sql.tcp_dynamic_ports);
    PortSet now;
    if (ports) now = *ports;
    now.Subtract(PortRange{0, 0});
    const std::string name = SqlServiceName(sql.name);
    out.push_back(Finding{
        .id = FindingId::kSqlDynamicPort,
        .severity = Severity::kWarning,
        .subject = fmt::format("SQL Server instance {} ({})", sql.name, sql.id),
        .proto = Protocol::kTcp,
        .ports = now,
        .pids = {},
        .why = fmt::format("IPAll TcpDynamicPorts is '{}': the instance takes a dynamic port "
                           "at start (it reuses its last one until another program holds it), "
                           "so clients need the SQL Server Browser and firewalls the whole range",
                           sql.tcp_dynamic_ports),
        .fix = fmt::format("run on the host, with -Restart (the change needs one), the script "
                           "printed by the command below: it claims {} in the registry, sets IPAll "
                           "TcpPort to that port and clears TcpDynamicPorts: {}",
                           name.empty() ? std::string("mssql.INSTANCE") : name, remedy)});
  }
}

void ListenerFindings(const WindowsHost& host, const audit::AuditInput& in, std::string_view remedy,
                      std::vector<Finding>& out) {
  const bool epm_live = Listens(host.snap, Protocol::kTcp, kEndpointMapperPort);
  const bool browser_live = Listens(host.snap, Protocol::kUdp, kSqlBrowserPort);
  for (const audit::ServerGroup& g : in.groups) {
    PortSet moving = g.ports.Intersect(DynamicPorts(host, g.proto));
    moving.Subtract(ExcludedPorts(host, g.proto));
    if (moving.empty()) continue;
    const Companion* c = g.process ? FindCompanion(*g.process) : nullptr;
    const bool mapped = c != nullptr && (c->command == "sqlservr" ? browser_live : epm_live);
    const PortRange dyn = DynamicRange(host, g.proto);
    const bool tcp = g.proto == Protocol::kTcp;
    if (mapped) {
      out.push_back(Finding{.id = FindingId::kMappedService,
                            .severity = Severity::kWarning,
                            .subject = g.subject,
                            .proto = g.proto,
                            .ports = moving,
                            .pids = g.pids,
                            .why = fmt::format("{} on a dynamic port, found by clients only "
                                               "through a port mapper",
                                               c->what),
                            .fix = c->remedy_pins
                                       ? fmt::format("{}; the script printed by the command below "
                                                     "claims the port and pins it: {}",
                                                     c->fix, remedy)
                                       : std::string(c->fix)});
      continue;
    }
    const bool rpc_host = g.process != nullptr && epm_live &&
                          (SameCommand(g.process->command, "svchost") ||
                           SameCommand(g.process->command, "lsass") ||
                           SameCommand(g.process->command, "services") ||
                           SameCommand(g.process->command, "wininit") ||
                           SameCommand(g.process->command, "spoolsv"));
    out.push_back(Finding{
        .id = FindingId::kEphemeralListener,
        .severity = tcp ? Severity::kWarning : Severity::kInfo,
        .subject = g.subject,
        .proto = g.proto,
        .ports = moving,
        .pids = g.pids,
        .why = tcp ? fmt::format("listens on {} inside the Windows dynamic range {}: an outbound "
                                 "connection can take it first, and firewalls see a dynamic port",
                                 audit::Plural(moving.count(), "port"), Range(dyn))
                   : fmt::format("UDP endpoint on {} inside the Windows dynamic range {}: a "
                                 "server here moves on restart (a client socket here is normal)",
                                 audit::Plural(moving.count(), "port"), Range(dyn)),
        .fix = rpc_host
                   ? std::string("an RPC service on a dynamic port: restrict RPC to a block (see "
                                 "the port-mapper finding of the endpoint mapper)")
                   : fmt::format("give the program a fixed port outside {} in its own settings "
                                 "and claim that port in the registry (berth assign NAME --port "
                                 "PORT --group GROUP); then the script printed by the command "
                                 "below excludes it from the dynamic range and opens it: {}",
                                 Range(dyn), remedy)});
  }
}

void FirewallFindings(const WindowsHost& host, std::string_view remedy, std::vector<Finding>& out) {
  for (const FirewallRule& r : host.firewall) {
    const std::optional<Protocol> proto =
        SameCommand(r.protocol, "TCP") || r.protocol == "6"    ? std::optional(Protocol::kTcp)
        : SameCommand(r.protocol, "UDP") || r.protocol == "17" ? std::optional(Protocol::kUdp)
                                                               : std::nullopt;
    if (!IsBroadRule(r, DynamicPorts(host, proto.value_or(Protocol::kTcp)))) continue;
    out.push_back(Finding{
        .id = FindingId::kFirewallBroadRule,
        .severity = Severity::kWarning,
        .subject = fmt::format("firewall rule '{}' ({})", r.display_name, r.name),
        .proto = proto,
        .ports = {},  // the why names the range: a list of every port would run to thousands
        .pids = {},
        .why = fmt::format("an inbound allow rule opens {} ({}{}): every dynamic port a program "
                           "happens to take is reachable",
                           audit::Plural(r.ports.count(), "port"), r.protocol.empty() ? "any" : r.protocol,
                           " " + r.local_port),
        .fix = fmt::format("the script printed by the command below opens exactly the registered "
                           "ports; run it on the host with -RemoveLegacy to remove this rule: {}",
                           remedy)});
  }
}

void RangeFindings(const WindowsHost& host, std::vector<Finding>& out) {
  for (const PortBlock& b : host.dynamic) {
    if (NetshAccepts(b.range)) continue;
    const std::string_view proto = b.proto == Protocol::kTcp ? "tcp" : "udp";
    out.push_back(Finding{
        .id = FindingId::kEphemeralRangeSmall,
        .severity = Severity::kWarning,
        .subject = "host",
        .proto = b.proto,
        .ports = {},
        .pids = {},
        .why = fmt::format("the IPv{} {} dynamic range {} holds {}, below what netsh sets "
                           "(at least {} ports from {}): outbound connections run out of ports",
                           b.family, proto, Range(b.range), audit::Plural(b.range.size(), "port"),
                           kNetshMinPorts, kNetshMinStart),
        .fix = fmt::format("netsh int ipv{} set dynamicport {} start={} num={}", b.family, proto,
                           kDefaultDynamicRange.low, kDefaultDynamicRange.size())});
  }
}

}  // namespace

std::string SqlServiceName(std::string_view instance) {
  std::string label = RegistryLabel(instance);
  // A registry name has 63 characters at most in all: the label gets what "mssql." leaves.
  if (label.size() > 63 - 6) label.resize(63 - 6);
  while (!label.empty() && label.back() == '-') label.pop_back();
  return label.empty() ? std::string() : "mssql." + label;
}

std::vector<Finding> AuditWindowsHost(const WindowsHost& host, std::string_view remedy) {
  const audit::AuditInput in = audit::GroupServers(host.snap);
  std::vector<Finding> out;
  MapperFindings(in, remedy, out);
  SqlFindings(host, remedy, out);
  ListenerFindings(host, in, remedy, out);
  FirewallFindings(host, remedy, out);
  RangeFindings(host, out);
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return static_cast<int>(a.severity) > static_cast<int>(b.severity);
  });
  return out;
}

}  // namespace berth::windows
