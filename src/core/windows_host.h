// A collected Windows host (`berth collect --format powershell`, docs/windows.md): its
// listeners and their owners as a HostSnapshot, plus what only Windows has: the dynamic port
// ranges, the excluded port ranges, SQL Server instances and their IPAll settings, the
// Rpc\Internet key and the firewall rules that open port ranges. Also Windows' and netsh's
// port limits, in one place. Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/port.h"
#include "core/socket.h"

namespace berth::windows {

// Windows' default dynamic (ephemeral) port range since Vista / Server 2008 (KB 929851).
inline constexpr PortRange kDefaultDynamicRange{49152, 65535};
// netsh int ipv4 set dynamicport refuses a range of fewer ports or one starting lower.
inline constexpr std::uint32_t kNetshMinPorts = 255;
inline constexpr Port kNetshMinStart = 1025;
// The RPC endpoint mapper and the SQL Server Browser: never handed to a service.
inline constexpr Port kEndpointMapperPort = 135;
inline constexpr Port kSqlBrowserPort = 1434;
// KB 154596: an RPC port block of at least 100 ports.
inline constexpr std::uint32_t kRpcBlockMinPorts = 100;
// The registry's range claim for a group's MS-RPC block (berth assign rpc.dynamic --size N).
inline constexpr std::string_view kRpcBlockService = "rpc.dynamic";
// WMI's fixed port once it runs in its own host (winmgmt /standalonehost; Microsoft's
// "Setting Up a Fixed Port for WMI").
inline constexpr Port kWmiStandalonePort = 24158;

// How an RPC service with a port setting of its own is pinned (KB 154596: before the block).
enum class PinMethod : std::uint8_t {
  kRegistryDword,     // a REG_DWORD under the service's Parameters key (KB 224196); reboot
  kDfsrdiag,          // dfsrdiag StaticRPC /port:N (DFS Replication); restart of DFSR
  kWinmgmtStandalone, // winmgmt /standalonehost: WMI alone in its svchost on kWmiStandalonePort
};

// One such service: pinned when the collected host runs `windows_service`; its port is
// claimed in the registry as `claim` (the names berth probe uses where it has one), at
// `fixed_port` when Windows fixes it, else where the allocator places it.
struct RpcPinSpec {
  std::string_view windows_service;  // "NTDS", "DFSR", "Winmgmt"
  std::string_view claim;            // "msrpc.drsuapi"
  PinMethod method = PinMethod::kRegistryDword;
  std::string_view key;    // kRegistryDword: "HKLM:\SYSTEM\...\Parameters"
  std::string_view value;  // kRegistryDword: "TCP/IP Port"
  Port fixed_port = 0;     // 0: placed by the allocator
};
inline constexpr RpcPinSpec kRpcPins[] = {
    {"NTDS", "msrpc.drsuapi", PinMethod::kRegistryDword,
     "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters", "TCP/IP Port", 0},
    {"NTDS", "msrpc.netlogon", PinMethod::kRegistryDword,
     "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters", "DCTcpipPort", 0},
    {"DFSR", "msrpc.dfsr", PinMethod::kDfsrdiag, "", "", 0},
    {"Winmgmt", "msrpc.wmi", PinMethod::kWinmgmtStandalone, "", "", kWmiStandalonePort},
};

// One `netsh int ipvN show dynamicport tcp|udp` answer, or one excluded port range.
struct PortBlock {
  Protocol proto = Protocol::kTcp;
  std::uint8_t family = 4;  // 4 or 6
  PortRange range;
  bool administered = false;  // excluded ranges only: '*' (added with add excludedportrange)
};

struct SqlInstance {
  std::string name;               // "SQLEXPRESS", "MSSQLSERVER" (the default instance)
  std::string id;                 // "MSSQL16.SQLEXPRESS": its key under Microsoft SQL Server
  std::string tcp_port;           // IPAll TcpPort as stored: "" none, "1433", "1433,1533"
  std::string tcp_dynamic_ports;  // IPAll TcpDynamicPorts: "" none, "0" or the last port
  std::optional<bool> tcp_enabled;  // Tcp\Enabled, when readable

  // The instance takes a dynamic port at start: TcpDynamicPorts is set at all (SQL Server
  // reuses its last dynamic port until it is taken, so a stable-looking port is no proof).
  bool dynamic() const;
};

// HKLM\SOFTWARE\Microsoft\Rpc\Internet.
struct RpcInternet {
  bool present = false;
  std::vector<std::string> ports;  // REG_MULTI_SZ lines, "5000-5255"
  std::string ports_internet_available;  // "Y", "N" or ""
  std::string use_internet_ports;        // "Y", "N" or ""
};

struct FirewallRule {
  std::string name;          // the rule's Name (its InstanceID), unique
  std::string display_name;
  bool enabled = true;
  bool inbound = true;
  bool allow = true;
  std::string protocol;      // "TCP", "UDP", "Any", or a number
  std::string local_port;    // as Windows lists it: "49152-65535", "135,5000-5100"
  PortSet ports;             // local_port parsed; empty when it names no numeric port
};

struct WinService {
  std::string name;  // "RpcSs", "MSSQL$SQLEXPRESS"
  int pid = 0;
  std::string state;  // "Running"
};

struct WindowsHost {
  // Sockets (TCP listeners, UDP endpoints), processes (command: the process name without
  // ".exe"; unit: the Windows services the process hosts, comma-separated), owners.
  // config.ephemeral is the IPv4 TCP dynamic range, config.reserved the excluded TCP ports.
  HostSnapshot snap;
  std::string ps_version;                 // "5.1.19041.4648", "7.4.6"
  std::optional<std::int64_t> collected;  // unix milliseconds
  std::vector<PortBlock> dynamic;         // netsh show dynamicport, as collected
  std::vector<PortBlock> excluded;        // netsh show excludedportrange
  std::vector<SqlInstance> sql;
  RpcInternet rpc;
  std::vector<FirewallRule> firewall;     // enabled or not; only rules naming local ports
  std::vector<WinService> services;
};

// Windows names (computer, service, process) compare without regard to ASCII case.
bool SameWindowsName(std::string_view a, std::string_view b);

// The dynamic range of `proto` and IPv4 as collected; Windows' default when it was not.
PortRange DynamicRange(const WindowsHost& host, Protocol proto);
// Every port of every collected dynamic range of `proto` (both families).
PortSet DynamicPorts(const WindowsHost& host, Protocol proto);
// The excluded ports of `proto` (both families).
PortSet ExcludedPorts(const WindowsHost& host, Protocol proto);

// netsh's rules for `netsh int ipvN set dynamicport`: at least kNetshMinPorts ports,
// starting at kNetshMinStart or above.
bool NetshAccepts(PortRange r);

// Where the OS dynamic range should go so that it obeys netsh and stays off `avoid` (the RPC
// block, the registered ports are excluded instead): `current` itself when it already does,
// else Windows' default when that does, else the larger part of the default range on either
// side of `avoid`. nullopt when no such range exists.
std::optional<PortRange> ChooseDynamicRange(PortRange current, const PortSet& avoid);

// A rule that opens a broad range: enabled, inbound, allow, and at least 1024 ports or at
// least 64 ports of `dynamic`.
bool IsBroadRule(const FirewallRule& rule, const PortSet& dynamic);

}  // namespace berth::windows
