// The parts of the host audit (core/audit.h), one function per finding family, and what they
// share: the snapshot's server sockets grouped by owner and protocol. Internal to core: only
// audit*.cc include it. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fix_commands.h"
#include "core/socket.h"

namespace berth::audit {

// The server sockets of one (primary owner, protocol).
struct ServerGroup {
  const ProcessInfo* process = nullptr;  // nullptr: no visible owner
  Protocol proto = Protocol::kTcp;
  PortSet ports;
  std::vector<int> pids;  // the owner's pid, if any
  std::string subject;    // "sshd (pid 812)", or why there is no owner
};

struct AuditInput {
  const HostSnapshot& snap;
  PortRange ephemeral;            // snap.config.ephemeral
  std::vector<ServerGroup> groups;  // by (owner index, protocol)
  PortSet servers_in_range;       // server ports inside the ephemeral range
  PortSet tcp_in_range;           // of which TCP
  ServiceNamer names;             // the names fixes suggest
};

// Groups the server sockets of `snap`. The primary owner of a socket is the one with the
// lowest pid (owners are sorted).
AuditInput GroupServers(const HostSnapshot& snap);

// The subject of findings about process `process` (an index into snap.processes, or -1).
std::string Subject(const HostSnapshot& snap, int process);

// "1 port", "3 ports".
std::string Plural(std::uint32_t n, std::string_view word);

// audit_mappers.cc: live port mappers (one finding per subject and protocol), and daemons
// that only a port mapper lets clients find, on a dynamic port.
std::vector<Finding> PortMapperFindings(const AuditInput& in);
std::optional<Finding> MappedServiceFinding(const AuditInput& in, const ServerGroup& g);

// audit_listeners.cc: servers inside this host's ephemeral range; servers in IANA's dynamic
// range outside it; ports IANA assigns to another service than the owner's; ports other
// products use by convention.
std::optional<Finding> EphemeralListenerFinding(const AuditInput& in, const ServerGroup& g);
std::optional<Finding> DynamicRangeListenerFinding(const AuditInput& in, const ServerGroup& g);
std::optional<Finding> IanaMismatchFinding(const AuditInput& in, const ServerGroup& g);
// A port the conventional-ports table gives to products the owner is not
// (core/conventional_ports.h); none for an interpreter or a container's port forwarder.
std::optional<Finding> ConventionalPortFinding(const AuditInput& in, const ServerGroup& g);

// audit_config.cc: the host's port configuration: a small ephemeral range, a range that
// overlaps servers, TCP listeners in the range that the reserved list misses.
std::optional<Finding> EphemeralRangeSmallFinding(const AuditInput& in);
std::optional<Finding> RangeOverlapsListenersFinding(const AuditInput& in);
std::optional<Finding> UnreservedEphemeralPortsFinding(const AuditInput& in);

}  // namespace berth::audit
