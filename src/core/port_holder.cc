#include "core/port_holder.h"

#include <algorithm>

#include <fmt/core.h>

namespace berth {

std::vector<PortHolder> HoldersOf(const HostSnapshot& snap, PortRange ports, ServiceProto proto) {
  std::vector<PortHolder> out;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& s = snap.sockets[i];
    if (!s.is_server() || !ports.contains(s.local_port) || !Covers(proto, s.proto)) continue;
    PortHolder h{s.proto, FormatEndpoint(snap.Local(s), s.local_port), snap.Uid(s), {}};
    for (const SocketOwner& o : snap.OwnersOf(i)) {
      if (o.process >= snap.processes.size()) continue;
      const ProcessInfo& p = snap.processes[o.process];
      const bool seen = std::any_of(h.processes.begin(), h.processes.end(),
                                    [&](const ProcessInfo& q) { return q.pid == p.pid; });
      if (!seen) h.processes.push_back(p);
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::string DescribeHolder(const PortHolder& h) {
  const std::string where = fmt::format("{}/{}", h.endpoint, ProtocolName(h.proto));
  if (h.processes.empty()) {
    return fmt::format("a process of uid {} (hidden from this user) on {}", h.uid, where);
  }
  std::string who;
  for (const ProcessInfo& p : h.processes) {
    std::string one = fmt::format("{} (pid {}", p.command, p.pid);
    if (!p.unit.empty()) one += fmt::format(", unit {}", p.unit);
    if (!p.user.empty()) one += fmt::format(", user {}", p.user);
    one += ")";
    who += (who.empty() ? "" : ", ") + one;
  }
  return fmt::format("{} on {}", who, where);
}

}  // namespace berth
