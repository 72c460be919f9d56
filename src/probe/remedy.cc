// Remedies: see remedy.h. The texts follow nfs.conf(5), SQL Server Configuration Manager
// (IPAll) and MS KB 154596; docs/probe.md explains each.
#include "probe/remedy.h"

#include <map>
#include <set>

#include <fmt/format.h>

namespace berth::probe {
namespace {

void RpcRemedies(const HostReport& r, std::vector<Remedy>& out) {
  std::map<std::uint32_t, std::set<Port>> dynamic;  // program -> dynamic ports
  for (const ServiceRecord& s : r.services) {
    if (s.mapper == Mapper::kRpc && s.dynamic) dynamic[s.program].insert(s.port);
  }
  if (dynamic.empty()) return;
  std::string conf;
  std::set<std::string> restart;
  std::vector<std::string> other;
  for (const auto& [prog, ports] : dynamic) {
    switch (prog) {
      case 100005:
        conf += fmt::format("[mountd]\nport={}\n", kMountdPort);
        restart.insert("nfs-mountd");
        break;
      case 100024:
        conf += fmt::format("[statd]\nport={}\noutgoing-port={}\n", kStatdPort, kStatdOutgoingPort);
        restart.insert("rpc-statd");
        break;
      case 100021:
        conf += fmt::format("[lockd]\nport={0}\nudp-port={0}\n", kLockdPort);
        restart.insert("rpc-statd");
        break;
      case 100003:
        conf += "[nfsd]\nport=2049\n";
        restart.insert("nfs-server");
        break;
      default:
        other.push_back(fmt::format("program {}: berth knows no setting for it; give the daemon a "
                                    "fixed port with its own option, then run berth probe again",
                                    prog));
    }
  }
  if (!conf.empty()) {
    std::string text = "In /etc/nfs.conf (nfs.conf(5)); merge with existing sections:\n" + conf;
    text += fmt::format("Then restart: systemctl restart {}\n", fmt::join(restart, " "));
    if (dynamic.contains(100021)) {
      text += fmt::format("Where lockd is in the kernel, also: sysctl -w fs.nfs.nlm_tcpport={0} "
                          "fs.nfs.nlm_udpport={0} (or the lockd module options nlm_tcpport/nlm_udpport)\n",
                          kLockdPort);
    }
    std::set<Port> open{111, 2049};
    if (dynamic.contains(100005)) open.insert(kMountdPort);
    if (dynamic.contains(100024)) open.insert(kStatdPort);
    if (dynamic.contains(100021)) open.insert(kLockdPort);
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
    const Port suggest = s.instance == "MSSQLSERVER" ? Port{1433} : Port{0};
    const std::string port_text = suggest ? fmt::format("{}", suggest) : std::string("<PORT>");
    out.push_back(
        {Mapper::kSsrp, fmt::format("SQL Server instance {}", s.instance),
         fmt::format(
             "SQL Server Configuration Manager > SQL Server Network Configuration > Protocols for "
             "{0} > TCP/IP > IP Addresses > IPAll: clear 'TCP Dynamic Ports', set 'TCP Port' = {1}"
             "{2}; restart the instance.\n"
             "(PowerShell DSC: SqlServerNetwork InstanceName='{0}' TcpDynamicPort=$false TcpPort={1})\n"
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
    const std::string& a = s.annotation;
    if (a.find("DRS") != std::string::npos || a.find("drsuapi") != std::string::npos ||
        s.interface_uuid == "e3514235-4b06-11d1-ab04-00c04fc2dcd2") {
      annotated.insert("AD replication (drsuapi): HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\"
                       "Parameters \"TCP/IP Port\" (REG_DWORD) = <PORT>; Samba AD DC: "
                       "'rpc server port:drsuapi = <PORT>'");
    } else if (a.find("Netlogon") != std::string::npos || a.find("netlogon") != std::string::npos ||
               s.interface_uuid == "12345678-1234-abcd-ef00-01234567cffb") {
      annotated.insert("Netlogon: HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters "
                       "DCTcpipPort (REG_DWORD) = <PORT>; Samba AD DC: 'rpc server port:netlogon = <PORT>'");
    } else if (a.find("DFSR") != std::string::npos) {
      annotated.insert("DFS Replication: dfsrdiag StaticRPC /port:<PORT> /Member:<server>");
    }
  }
  if (!any) return;
  for (const std::string& t : annotated) out.push_back({Mapper::kEpm, "MS-RPC service with its own port setting", t});
  out.push_back(
      {Mapper::kEpm, "MS-RPC dynamic range",
       "For the other services, restrict the RPC dynamic range (MS KB 154596):\n"
       "  HKLM\\Software\\Microsoft\\Rpc\\Internet: Ports (REG_MULTI_SZ) = 5000-5100, "
       "PortsInternetAvailable = Y, UseInternetPorts = Y\n"
       "  netsh int ipv4 set dynamicport tcp start=5000 num=101 (keep the OS range away from it)\n"
       "  Samba (samba-dcerpcd): rpc server dynamic port range = 5000-5100\n"
       "Warning: the range pins the SET of ports, not each service: which service gets which port "
       "still changes on restart. Open the whole range, and make it large enough, or a worker "
       "fails to start."});
}

}  // namespace

std::vector<Remedy> Remedies(const HostReport& report) {
  std::vector<Remedy> out;
  RpcRemedies(report, out);
  SqlRemedies(report, out);
  EpmRemedies(report, out);
  return out;
}

}  // namespace berth::probe
