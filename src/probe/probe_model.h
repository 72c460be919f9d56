// What `berth probe` learns about one host: the services a port mapper reported, each with
// transport, port, whether the port is dynamic and whether it answered, plus how each
// mapper itself responded. Plain values; safe to copy across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/port.h"
#include "core/service.h"

namespace berth::probe {

enum class Mapper { kRpc, kSsrp, kEpm };
std::string_view MapperName(Mapper m);  // "rpc", "mssql", "msrpc"

// The static port for a dynamic service: its name in berth's registry and the port the
// registry holds for it, or the one it proposes (free, not claimed).
struct StaticPort {
  std::string name;  // "nfs.mountd", "mssql.sqlexpress", "msrpc.netlogon"
  ServiceProto proto = ServiceProto::kTcp;
  Port port = 0;
  bool registered = false;  // true: already registered; false: proposed, claim it with berth assign
  std::string reason;       // how the port was chosen
};

struct ServiceRecord {
  Mapper mapper = Mapper::kRpc;
  std::string name;  // "mountd", "SQLEXPRESS", "netlogon"... (from the network for SQL/EPM)
  // ONC RPC
  std::uint32_t program = 0;
  std::uint32_t version = 0;
  std::string netid;  // tcp, udp, tcp6, udp6
  std::string owner;
  std::string uaddr;
  // SQL Server
  std::string instance;
  std::string server_name;
  std::string sql_version;
  bool dac = false;  // the dedicated admin connection port of `instance`
  // MS-RPC
  std::string interface_uuid;
  std::string interface_version;
  std::string annotation;
  std::string endpoint;  // named pipe / ncalrpc name when not TCP/UDP
  // Common
  Protocol transport = Protocol::kTcp;
  Port port = 0;  // 0: not a TCP/UDP endpoint
  bool dynamic = false;
  // nullopt: not checked (e.g. an IPv6 registration seen through an IPv4 target).
  std::optional<bool> answers;
  std::string answer_detail;
  // Set for dynamic services when a registry was consulted (docs/probe.md, "Static ports").
  std::optional<StaticPort> static_port;
};

enum class MapperState : std::uint8_t {
  kAnswered,
  kSilent,   // no reply: no mapper there
  kRefused,  // the port refused: no mapper there
  kError,
};
std::string_view MapperStateName(MapperState s);  // "answered", "silent", "refused", "error"

struct MapperStatus {
  Mapper mapper = Mapper::kRpc;
  MapperState state = MapperState::kError;
  std::string detail;
};

struct HostReport;
// True when a host has something to show: a mapper answered or failed other than silence.
bool Interesting(const HostReport& r);

struct HostReport {
  std::string target;   // as given (name, address)
  std::string address;  // the numeric address probed
  // --broadcast: the broadcast address this report came from and its interface, both on the
  // broadcast's own report (whose address is the broadcast address) and on each responder's.
  std::string broadcast;
  std::string interface;
  std::vector<ServiceRecord> services;
  std::vector<MapperStatus> mappers;
};

}  // namespace berth::probe
