// Port mappers: well-known ports whose service tells clients which dynamic port another
// service is on (ONC RPC's rpcbind, the DCE/MS-RPC endpoint mapper, the SQL Server Browser).
// One table for the audit (port-mapper findings) and the firewall surface comparison.
// Pure data; thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/port.h"

namespace berth {

struct PortMapper {
  std::string_view name;  // stable: berth firewall --surface prints it ("msrpc-epmap")
  Protocol proto;
  Port port;
  bool audited;           // the audit reports it live as a port-mapper finding
  std::string_view what;  // what it is, for the audit's why
  std::string_view fix;   // how to pin what it maps; use PortMapperFix(), which adds rpcbind's
};

inline constexpr std::string_view kRpcbindWhat = "ONC RPC port mapper (rpcbind)";
inline constexpr PortMapper kRpcbindTcp{"rpcbind", Protocol::kTcp, 111, true, kRpcbindWhat, ""};
inline constexpr PortMapper kRpcbindUdp{"rpcbind", Protocol::kUdp, 111, true, kRpcbindWhat, ""};
inline constexpr PortMapper kMsRpcEndpointMapper{
    "msrpc-epmap", Protocol::kTcp, 135, true, "DCE/MS-RPC endpoint mapper",
    "give each RPC service its own port where it has a setting (Samba AD DC: "
    "'rpc server port:<service> = N' in smb.conf; Windows: NTDS 'TCP/IP Port', "
    "Netlogon DCTcpipPort); otherwise restrict the dynamic range (Samba: "
    "'rpc server dynamic port range = A-B'; Windows: HKLM\\Software\\Microsoft\\"
    "Rpc\\Internet Ports) - a range pins the set of ports, not each service"};
inline constexpr PortMapper kSqlServerBrowser{
    "ms-sql-browser", Protocol::kUdp, 1434, true, "SQL Server Browser (SSRP)",
    "for each instance: pin its TCP port (Windows: the script 'berth remedy --format "
    "powershell' writes from a collected host, docs/windows.md; SQL Server on Linux: sudo "
    "/opt/mssql/bin/mssql-conf set network.tcpport PORT); clients use Server=tcp:HOST,PORT "
    "instead of HOST\\INSTANCE; open that one port; then disable the SQL Server Browser"};
// RPC over HTTP's endpoint mapper: counted by the surface comparison, not audited.
inline constexpr PortMapper kMsRpcHttpEndpointMapper{"msrpc-http-epmap", Protocol::kTcp, 593,
                                                     false, "", ""};

inline constexpr std::array kPortMappers{kRpcbindTcp, kRpcbindUdp, kMsRpcEndpointMapper,
                                         kSqlServerBrowser, kMsRpcHttpEndpointMapper};

// The audit's port-mapper fix for `m`: how to pin what it maps and when the mapper can go.
// rpcbind's lists the nfs.conf lines of core/nfs_ports.h.
std::string PortMapperFix(const PortMapper& m);

}  // namespace berth
