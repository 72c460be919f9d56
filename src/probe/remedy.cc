// Remedies: see remedy.h. The texts follow nfs.conf(5), SQL Server Configuration Manager
// (IPAll) and MS KB 154596; docs/probe.md explains each.
#include "probe/remedy.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/audit_windows.h"
#include "core/nfs_ports.h"
#include "core/port_mappers.h"
#include "core/service.h"

namespace berth::probe {
namespace {

// MS-RPC services that have a port setting of their own.
enum class EpmKind { kDrsuapi, kNetlogon, kDfsr, kOther };
EpmKind EpmKindOf(const ServiceRecord& s) {
  const std::string& a = s.annotation;
  if (a.find("DRS") != std::string::npos || a.find("drsuapi") != std::string::npos ||
      s.interface_uuid == "e3514235-4b06-11d1-ab04-00c04fc2dcd2") {
    return EpmKind::kDrsuapi;
  }
  if (a.find("Netlogon") != std::string::npos || a.find("netlogon") != std::string::npos ||
      s.interface_uuid == "12345678-1234-abcd-ef00-01234567cffb") {
    return EpmKind::kNetlogon;
  }
  if (a.find("DFSR") != std::string::npos) return EpmKind::kDfsr;
  return EpmKind::kOther;
}

// The static port of a dynamic RPC program: the registry's (held or proposed) when one was
// consulted, else berth's default for it.
Port RpcPin(const HostReport& r, std::uint32_t program, Port fallback) {
  for (const ServiceRecord& s : r.services) {
    if (s.mapper == Mapper::kRpc && s.program == program && s.static_port) return s.static_port->port;
  }
  return fallback;
}

void RpcRemedies(const HostReport& r, std::vector<Remedy>& out) {
  std::map<std::uint32_t, std::string> dynamic;  // program -> name
  for (const ServiceRecord& s : r.services) {
    if (s.mapper == Mapper::kRpc && s.dynamic) dynamic.emplace(s.program, s.name);
  }
  if (dynamic.empty()) return;
  std::string conf;
  std::set<std::string> restart;
  std::vector<std::string> other;
  std::set<Port> open{kRpcbindTcp.port, kNfsd.port};
  for (const auto& [prog, name] : dynamic) {
    if (const NfsDaemon* d = FindNfsDaemon(prog)) {
      const Port pin = RpcPin(r, prog, d->port);
      open.insert(pin);
      conf += NfsConfLines(*d, pin);
      restart.insert(std::string(d->unit));
      continue;
    }
    const Port pin = RpcPin(r, prog, 0);
    other.push_back(fmt::format(
        "program {}{}: berth knows no setting for it; give the daemon {} with its own option, "
        "then run berth probe again",
        prog, name.empty() ? "" : " (" + name + ")",
        pin ? fmt::format("the fixed port {}", pin) : std::string("a fixed port")));
  }
  if (!conf.empty()) {
    std::string text = "In /etc/nfs.conf (nfs.conf(5)); merge with existing sections:\n" + conf;
    text += fmt::format("Then restart: systemctl restart {}\n", fmt::join(restart, " "));
    if (dynamic.contains(kNfsLockd.rpc_program)) {
      text += fmt::format("Where lockd is in the kernel, also: sysctl -w fs.nfs.nlm_tcpport={0} "
                          "fs.nfs.nlm_udpport={0} (or the lockd module options nlm_tcpport/nlm_udpport)\n",
                          RpcPin(r, kNfsLockd.rpc_program, kNfsLockd.port));
    }
    text += fmt::format("Firewall: allow tcp+udp {} (and any port already fixed) instead of the "
                        "ephemeral range.", fmt::join(open, ", "));
    out.push_back({Mapper::kRpc, "NFS side daemons", std::move(text)});
  }
  for (std::string& o : other) out.push_back({Mapper::kRpc, "other RPC programs", std::move(o)});
}

void SqlRemedies(const HostReport& r, std::vector<Remedy>& out) {
  for (const ServiceRecord& s : r.services) {
    if (s.mapper != Mapper::kSsrp || !s.dynamic) continue;
    if (s.dac) {
      out.push_back({Mapper::kSsrp, fmt::format("SQL Server DAC of {}", s.instance),
                     fmt::format("The dedicated admin connection of {} is on dynamic port {}. It is "
                                 "used from the server itself by default; if remote DAC is needed "
                                 "(sp_configure 'remote admin connections', 1), pin the instance's "
                                 "TCP port first: the DAC then follows on a port you can open.",
                                 s.instance, s.port)});
      continue;
    }
    const Port suggest = s.static_port                ? s.static_port->port
                         : s.instance == "MSSQLSERVER" ? Port{1433}
                                                       : Port{0};
    const std::string port_text = suggest ? fmt::format("{}", suggest) : std::string("<PORT>");
    out.push_back(
        {Mapper::kSsrp, fmt::format("SQL Server instance {}", s.instance),
         fmt::format(
             "SQL Server Configuration Manager > SQL Server Network Configuration > Protocols for "
             "{0} > TCP/IP > IP Addresses > IPAll: clear 'TCP Dynamic Ports', set 'TCP Port' = {1}"
             "{2}; restart the instance.\n"
             "(PowerShell DSC, SqlServerDsc: SqlProtocolTcpIp InstanceName='{0}' IpAddressGroup='IPAll' "
             "TcpDynamicPort=$false TcpPort='{1}'; on Windows, 'berth remedy --format powershell' "
             "writes the whole change from a collected host)\n"
             "Clients: connect with Server={3},{1} instead of {3}\\{0}.\n"
             "Firewall: allow tcp {1} only.\n"
             "Once no client uses {3}\\{0}, the SQL Server Browser (udp 1434) can be turned off.",
             s.instance, port_text,
             suggest ? "" : " (a free port outside the ephemeral range, from your port registry)",
             r.target)});
  }
}

void EpmRemedies(const HostReport& r, std::vector<Remedy>& out) {
  std::set<std::string> annotated;
  bool any = false;
  for (const ServiceRecord& s : r.services) {
    if (s.mapper != Mapper::kEpm || !s.dynamic) continue;
    any = true;
    const std::string port = s.static_port ? fmt::format("{}", s.static_port->port) : "<PORT>";
    switch (EpmKindOf(s)) {
      case EpmKind::kDrsuapi:
        annotated.insert(fmt::format(
            "AD replication (drsuapi): HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\"
            "Parameters \"TCP/IP Port\" (REG_DWORD) = {0}; Samba AD DC: 'rpc server port:drsuapi = {0}'",
            port));
        break;
      case EpmKind::kNetlogon:
        annotated.insert(fmt::format(
            "Netlogon: HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters "
            "DCTcpipPort (REG_DWORD) = {0}; Samba AD DC: 'rpc server port:netlogon = {0}'",
            port));
        break;
      case EpmKind::kDfsr:
        annotated.insert(fmt::format("DFS Replication: dfsrdiag StaticRPC /port:{} /Member:<server>", port));
        break;
      case EpmKind::kOther: break;
    }
  }
  if (!any) return;
  for (const std::string& t : annotated) out.push_back({Mapper::kEpm, "MS-RPC service with its own port setting", t});
  out.push_back(
      {Mapper::kEpm, "MS-RPC dynamic range",
       "For the other services, restrict the RPC dynamic range (MS KB 154596):\n"
       "  HKLM\\Software\\Microsoft\\Rpc\\Internet: Ports (REG_MULTI_SZ) = 5000-5100, "
       "PortsInternetAvailable = Y, UseInternetPorts = Y\n"
       "  keep the OS dynamic range off it (Windows' default 49152-65535 already is; netsh int "
       "ipv4 show dynamicport tcp shows it; netsh sets no fewer than 255 ports and no start below "
       "1025)\n"
       "  Samba (samba-dcerpcd): rpc server dynamic port range = 5000-5100\n"
       "Warning: the range pins the SET of ports, not each service: which service gets which port "
       "still changes on restart. Open the whole range, and make it large enough, or a worker "
       "fails to start."});
}

// The proposed (not yet registered) static ports of one mapper's services, as the commands
// that claim them.
void RegistryRemedy(const HostReport& r, Mapper mapper, std::vector<Remedy>& out) {
  std::string text;
  std::set<std::string> done;
  for (const ServiceRecord& s : r.services) {
    if (s.mapper != mapper || !s.static_port || s.static_port->registered) continue;
    const StaticPort& p = *s.static_port;
    if (!done.insert(p.name).second) continue;
    const auto wish = WishFor(s);
    const bool iana = wish && wish->allow_iana && wish->preferred == p.port;
    text += fmt::format("\nberth assign {} --port {} --proto {}{}", p.name, p.port,
                        ServiceProtoName(p.proto), iana ? " --allow-iana" : "");
  }
  if (text.empty()) return;
  out.push_back({mapper, "registry",
                 "Claim the proposed ports in berth's registry, so that nothing else is given them:" + text});
}

}  // namespace

std::string RegistryLabel(std::string_view text) { return berth::RegistryLabel(text); }

std::optional<StaticPortWish> WishFor(const ServiceRecord& s) {
  if (!s.dynamic || s.port == 0) return std::nullopt;
  switch (s.mapper) {
    case Mapper::kRpc: {
      // rpcbind daemons bind tcp and udp on one port: claim both slots.
      if (const NfsDaemon* d = FindNfsDaemon(s.program)) {
        return StaticPortWish{std::string(d->service), ServiceProto::kBoth, d->port, d->iana_port};
      }
      const std::string label = RegistryLabel(s.name);
      return StaticPortWish{"rpc." + (label.empty() ? fmt::format("{}", s.program) : label),
                            ServiceProto::kBoth, std::nullopt, false};
    }
    case Mapper::kSsrp: {
      if (s.dac) return std::nullopt;
      // The same name berth remedy claims for a collected Windows host, within 63 characters.
      const std::string name = windows::SqlServiceName(s.instance);
      if (name.empty()) return std::nullopt;  // nothing printable to name it by
      if (s.instance == "MSSQLSERVER") return StaticPortWish{name, ServiceProto::kTcp, Port{1433}, true};
      return StaticPortWish{name, ServiceProto::kTcp, std::nullopt, false};
    }
    case Mapper::kEpm:
      switch (EpmKindOf(s)) {
        case EpmKind::kDrsuapi: return StaticPortWish{"msrpc.drsuapi", ServiceProto::kTcp, std::nullopt, false};
        case EpmKind::kNetlogon: return StaticPortWish{"msrpc.netlogon", ServiceProto::kTcp, std::nullopt, false};
        case EpmKind::kDfsr: return StaticPortWish{"msrpc.dfsr", ServiceProto::kTcp, std::nullopt, false};
        case EpmKind::kOther: return std::nullopt;
      }
  }
  return std::nullopt;
}

std::vector<Remedy> Remedies(const HostReport& report) {
  std::vector<Remedy> out;
  RpcRemedies(report, out);
  SqlRemedies(report, out);
  EpmRemedies(report, out);
  for (Mapper m : {Mapper::kRpc, Mapper::kSsrp, Mapper::kEpm}) RegistryRemedy(report, m, out);
  return out;
}

}  // namespace berth::probe
