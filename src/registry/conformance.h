// Keeping hosts honest, as pure functions over a HostSnapshot and the registry's services:
// the reserved-ports value that covers the registry (merged, never dropping an entry), the
// `berth check` findings, the `berth range` what-would-break analysis, and matching a
// scan's listeners to services (registered, unregistered, drifted; ports that moved since
// the previous scan). No I/O; the CLI reads the store and the host.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/socket.h"
#include "registry/allocator.h"
#include "registry/model.h"

namespace berth::registry {

// Registered ports of `services` per protocol (both covers tcp and udp).
struct PortsByProto {
  PortSet tcp;
  PortSet udp;
  PortSet all() const {
    PortSet s = tcp;
    s.Add(udp);
    return s;
  }
};
PortsByProto RegisteredPorts(const std::vector<Service>& services);

// The services of the groups this host belongs to (the default group and every group that
// lists `hostname`).
std::vector<Service> ServicesOfHost(const std::vector<Service>& services,
                                    const std::vector<Group>& groups, std::string_view hostname);

// ip_local_reserved_ports covering `services`, merged with `current`: a superset of both.
PortSet MergeReserved(const PortSet& current, const std::vector<Service>& services);

// The /etc/sysctl.d file that sets `value`, with a header saying who wrote it and why.
std::string SysctlFile(const PortSet& value);

// `berth check`, one finding per service and kind: a port inside the ephemeral range
// (registered-port-ephemeral: error when it is not reserved, warning when it is; reserving
// means nothing outside the range, so nothing is said there), a service with nothing
// listening on its port (warning registered-not-listening, naming the silent protocols);
// and every listener registered or allowed (warning unregistered-listener, one per owner
// and protocol). `registrable` is the default group's range: an unregistered listener inside
// it is told to `berth adopt` its port, one outside it to allow the port.
std::vector<Finding> CheckHost(const HostSnapshot& snap, const std::vector<Service>& services,
                               const PortSet& allow, PortRange registrable = kUserRange);

// `berth range LOW HIGH`: what a new ip_local_port_range would break: registered ports
// inside it that are not reserved (error range-covers-registered), listeners inside it
// (warning range-covers-listener), and a range the kernel refuses (error range-invalid).
std::vector<Finding> CheckRange(PortRange proposed, const HostSnapshot& snap,
                                const std::vector<Service>& services,
                                PortRange registrable = kUserRange);

enum class RegStatus : std::uint8_t { kRegistered, kUnregistered, kDrifted };
std::string_view RegStatusName(RegStatus s);  // "registered" / "unregistered" / "drifted"

struct ListenerMatch {
  RegStatus status = RegStatus::kUnregistered;
  std::string service;  // the registered (or drifted) service, "" when unregistered
};

struct ScanMatch {
  std::vector<std::optional<ListenerMatch>> sockets;  // by socket index; nullopt: not a server
  std::vector<Observation> observations;              // one per (proto, port, command)
  std::vector<Finding> findings;  // unregistered-listener, drifted-service, port-changed
};

// Matches the server sockets of `snap` to `services` (this host's). A listener on a port
// no service claims is `drifted` when its command is known to belong to a service (it held
// that service's port in the previous scan, or it equals the first label of the service's
// name) and that service's own port is not listening. `previous` is what the previous scan
// of this host saw: a command now listening only on ports it did not hold then is
// `port-changed`, the "port changes on restart" symptom. `registrable` as for CheckHost.
// `allow`: ports the host's groups accept unregistered: their listeners draw no
// unregistered-listener finding (and appear in no other one's ports or fix).
ScanMatch MatchScan(const HostSnapshot& snap, const std::vector<Service>& services,
                    const std::vector<Observation>& previous,
                    PortRange registrable = kUserRange, const PortSet& allow = {});

}  // namespace berth::registry
