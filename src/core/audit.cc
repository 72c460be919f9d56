#include "core/audit.h"

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include "core/audit_parts.h"

namespace berth {
namespace audit {

std::string Subject(const HostSnapshot& snap, int process) {
  if (process >= 0) {
    const ProcessInfo& p = snap.processes[static_cast<std::size_t>(process)];
    return fmt::format("{} (pid {})", p.command, p.pid);
  }
  return snap.owners_resolved ? "no visible process (kernel or another pid namespace)"
                              : "owner not looked up (--no-procs)";
}

std::string Plural(std::uint32_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

AuditInput GroupServers(const HostSnapshot& snap) {
  AuditInput in{.snap = snap,
                .ephemeral = snap.config.ephemeral,
                .groups = {},
                .servers_in_range = {},
                .tcp_in_range = {},
                .names = ServiceNamer(snap)};
  std::map<std::pair<int, Protocol>, PortSet> ports;
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& s = snap.sockets[i];
    if (!s.is_server()) continue;
    ports[{snap.PrimaryOwner(static_cast<std::uint32_t>(i)), s.proto}].Add(s.local_port);
    if (in.ephemeral.contains(s.local_port)) {
      in.servers_in_range.Add(s.local_port);
      if (s.proto == Protocol::kTcp) in.tcp_in_range.Add(s.local_port);
    }
  }
  for (auto& [key, set] : ports) {
    const auto [process, proto] = key;
    ServerGroup g{.process = nullptr, .proto = proto, .ports = std::move(set), .pids = {},
                  .subject = Subject(snap, process)};
    if (process >= 0) {
      g.process = &snap.processes[static_cast<std::size_t>(process)];
      g.pids.push_back(g.process->pid);
    }
    in.groups.push_back(std::move(g));
  }
  return in;
}

}  // namespace audit

std::vector<Finding> AuditHost(const HostSnapshot& snap) {
  using namespace audit;
  const AuditInput in = GroupServers(snap);
  std::vector<Finding> out = PortMapperFindings(in);
  auto add = [&out](std::optional<Finding> f) {
    if (f) out.push_back(std::move(*f));
  };
  for (const ServerGroup& g : in.groups) {
    add(EphemeralListenerFinding(in, g));
    add(DynamicRangeListenerFinding(in, g));
    add(MappedServiceFinding(in, g));
    add(IanaMismatchFinding(in, g));
    add(ConventionalPortFinding(in, g));
  }
  add(EphemeralRangeSmallFinding(in));
  add(RangeOverlapsListenersFinding(in));
  add(UnreservedEphemeralPortsFinding(in));

  // Most severe first, then by name and subject; findings equal in all three keep the order
  // they were found in (socket order, then group order).
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.id != b.id) return FindingIdName(a.id) < FindingIdName(b.id);
    return a.subject < b.subject;
  });
  return out;
}

}  // namespace berth
