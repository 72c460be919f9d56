// Which sockets a scan shows: ss's habits (-4/-6, state names, a port) plus berth's owners
// (process command, systemd unit). A filter narrows what is shown, never what is audited or
// recorded: the scan audits and records the whole host first, then keeps the matching
// sockets and the findings about them. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/finding.h"
#include "core/port.h"
#include "core/socket.h"

namespace berth {

struct SocketFilter {
  PortSet ports;                       // local port (ss's sport); empty: any
  std::vector<std::string> processes;  // /proc/PID/comm of an owner, exact; empty: any
  std::vector<std::string> units;      // systemd unit of an owner; "ssh" matches ssh.service
  std::vector<SocketState> states;     // empty: any
  int family = 0;                      // 4 or 6; 0: both

  bool active() const {
    return !ports.empty() || !processes.empty() || !units.empty() || !states.empty() ||
           family != 0;
  }
};

// ss's state names, lower case: established, syn-sent, syn-recv, fin-wait-1, fin-wait-2,
// time-wait, closed (also unconn, an unbound or unconnected UDP socket), close-wait,
// last-ack, listening (also listen), closing. Failure: kInvalidArgument listing them.
[[nodiscard]] Result<SocketState> ParseStateName(std::string_view name);

// Is `unit` the systemd unit a user means by `want`? "ssh" names ssh.service, as systemctl
// takes it; a full name ("ssh.socket") must match exactly.
bool UnitMatches(std::string_view want, std::string_view unit);

// Does socket `index` of `snap` pass `filter`? (Owner filters need the owners resolved.)
bool Matches(const SocketFilter& filter, const HostSnapshot& snap, std::size_t index);

// Keeps only the matching sockets of `snap` (owners re-indexed; processes kept) and returns,
// for each kept socket, its index before. Findings: FilterFindings.
std::vector<std::size_t> Narrow(const SocketFilter& filter, HostSnapshot& snap);

// The findings about the kept sockets of a narrowed `snap`: a finding stays when one of its
// ports is a kept socket's local port (and, if it names processes, one of them owns that
// socket). Findings about the whole host (no ports) are left out while a filter is active.
std::vector<Finding> FilterFindings(const SocketFilter& filter, const HostSnapshot& narrowed,
                                    std::vector<Finding> findings);

}  // namespace berth
