// Ephemeral-port pressure: how much of the usable ephemeral range the connecting side of
// this host holds toward each destination. The kernel's limit is per 4-tuple, so the unit
// is (source IP, destination IP, destination port). Pure; see ../shared/docs/kernel-ports.md.
#pragma once

#include <vector>

#include "core/finding.h"
#include "core/socket.h"

namespace berth {

struct PressureRow {
  IpAddress source;
  IpAddress destination;
  Port destination_port = 0;
  std::uint32_t sockets = 0;    // TCP sockets holding an ephemeral source port
  std::uint32_t time_wait = 0;  // of which in TIME_WAIT
  double share = 0;             // sockets / usable ports, 0..1 (can exceed 1 with tw_reuse)
};

struct PressureReport {
  std::uint32_t usable = 0;  // range minus reserved ports minus ports servers hold in it
  std::vector<PressureRow> rows;  // most pressed first
  std::vector<Finding> findings;  // warning from 50 %, error from 80 %
};

// Only sockets whose local port is inside the ephemeral range and is not a port a server
// listens on count: an accepted connection on a listener's port holds no ephemeral port.
PressureReport AnalyzePressure(const HostSnapshot& snap);

}  // namespace berth
