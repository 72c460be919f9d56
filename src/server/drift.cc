#include "server/drift.h"

#include <algorithm>
#include <set>

namespace berth::server {

std::string_view DriftKindName(DriftKind kind) {
  return kind == DriftKind::kOtherPort ? "other-port" : "not-listening";
}

bool HostInGroup(const FleetSnapshot& snap, const registry::FleetHost& host,
                 const std::string& group) {
  const std::string& report_group =
      host.report.group.empty() ? std::string(registry::kDefaultGroup) : host.report.group;
  if (report_group == group) return true;
  for (const registry::Group& g : snap.groups) {
    if (g.name == group) {
      return std::find(g.hosts.begin(), g.hosts.end(), host.report.host) != g.hosts.end();
    }
  }
  return false;
}

std::vector<Drift> FindDrift(const FleetSnapshot& snap) {
  std::vector<Drift> out;
  for (const registry::ServiceRecord& rec : snap.services) {
    const Service& s = rec.service;
    bool reported = false, listening = false;
    std::set<std::pair<std::string, Port>> moved;
    for (const registry::FleetHost& h : snap.hosts) {
      const auto obs = snap.observations.find(h.report.host);
      if (obs == snap.observations.end()) continue;
      for (const registry::Observation& o : obs->second) {
        if (o.service == s.name && !PortsOf(s).contains(o.port) && moved.emplace(o.host, o.port).second) {
          out.push_back({s.name, s.group, s.port, DriftKind::kOtherPort, h.report.host, o.port,
                         o.proto});
        }
      }
      if (!HostInGroup(snap, h, s.group)) continue;
      reported = true;
      listening = listening || std::any_of(obs->second.begin(), obs->second.end(),
                                           [&](const registry::Observation& o) {
                                             return PortsOf(s).contains(o.port) && Covers(s.proto, o.proto);
                                           });
    }
    // A range claim is a pool taken from on demand (an RPC block): idle is not drift.
    if (reported && !listening && s.size == 1) {
      out.push_back({s.name, s.group, s.port, DriftKind::kNotListening, "", 0,
                     s.proto == ServiceProto::kUdp ? Protocol::kUdp : Protocol::kTcp});
    }
  }
  std::sort(out.begin(), out.end(), [](const Drift& a, const Drift& b) {
    return std::tie(a.service, a.host, a.seen) < std::tie(b.service, b.host, b.seen);
  });
  return out;
}

}  // namespace berth::server
