// net.ipv4.ip_local_reserved_ports of the calling thread's network namespace: read it, and
// set it (needs root) with a read-back that proves the kernel took the value. Thread-safe.
#pragma once

#include "base/error.h"
#include "core/port.h"

namespace berth {

inline constexpr const char* kReservedPortsPath = "/proc/sys/net/ipv4/ip_local_reserved_ports";

// Failure: the errno Error naming the file; kMalformed when it does not parse.
[[nodiscard]] Result<PortSet> ReadReservedPorts();

// Writes `value` and reads it back. Returns what the kernel now holds. Failure: the errno
// Error (kPermissionDenied without root), kInternal when the read-back does not cover `value`.
[[nodiscard]] Result<PortSet> SetReservedPorts(const PortSet& value);

// True when this process may write the value (root in this network namespace's owner).
bool CanSetReservedPorts();

}  // namespace berth
