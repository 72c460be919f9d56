#include "registry/conformance.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/core.h>

#include "core/fix_commands.h"

namespace berth::registry {
namespace {

struct Listening {
  PortSet tcp;
  PortSet udp;
  bool contains(Protocol p, Port port) const {
    return p == Protocol::kTcp ? tcp.contains(port) : udp.contains(port);
  }
};

Listening ServerPorts(const HostSnapshot& snap) {
  Listening l;
  for (const SocketRecord& s : snap.sockets) {
    if (!s.is_server()) continue;
    (s.proto == Protocol::kTcp ? l.tcp : l.udp).Add(s.local_port);
  }
  return l;
}

// The command (and pid) owning socket `index`, from the snapshot's owner table.
std::pair<std::string, int> OwnerOf(const HostSnapshot& snap, std::uint32_t index) {
  auto it = std::lower_bound(snap.owners.begin(), snap.owners.end(), index,
                             [](const SocketOwner& o, std::uint32_t i) { return o.socket < i; });
  if (it == snap.owners.end() || it->socket != index || it->process >= snap.processes.size()) {
    return {"", 0};
  }
  const ProcessInfo& p = snap.processes[it->process];
  return {p.command, p.pid};
}

std::string_view FirstLabel(std::string_view name) { return name.substr(0, name.find('.')); }

Finding Make(FindingId id, Severity sev, std::string subject, std::optional<Protocol> proto,
             PortSet ports, std::string why, std::string fix) {
  Finding f;
  f.id = id;
  f.severity = sev;
  f.subject = std::move(subject);
  f.proto = proto;
  f.ports = std::move(ports);
  f.why = std::move(why);
  f.fix = std::move(fix);
  return f;
}

}  // namespace

PortsByProto RegisteredPorts(const std::vector<Service>& services) {
  PortsByProto out;
  for (const Service& s : services) {
    if (s.port == 0) continue;
    if (Covers(s.proto, Protocol::kTcp)) out.tcp.Add(s.port);
    if (Covers(s.proto, Protocol::kUdp)) out.udp.Add(s.port);
  }
  return out;
}

std::vector<Service> ServicesOfHost(const std::vector<Service>& services,
                                    const std::vector<Group>& groups, std::string_view hostname) {
  std::set<std::string, std::less<>> mine{std::string(kDefaultGroup)};
  for (const Group& g : groups) {
    if (std::find(g.hosts.begin(), g.hosts.end(), hostname) != g.hosts.end()) mine.insert(g.name);
  }
  std::vector<Service> out;
  for (const Service& s : services) {
    if (mine.contains(s.group)) out.push_back(s);
  }
  return out;
}

PortSet MergeReserved(const PortSet& current, const std::vector<Service>& services) {
  PortSet merged = current;
  merged.Add(RegisteredPorts(services).all());
  return merged;
}

std::string SysctlFile(const PortSet& value) {
  return fmt::format(
      "# Written by 'berth reserve': the ports of berth's registry, merged with the value that\n"
      "# was set when it ran (entries are never dropped). The kernel will not hand these ports\n"
      "# to outbound connections, so the services that own them can always bind them.\n"
      "net.ipv4.ip_local_reserved_ports = {}\n",
      value.Format());
}

std::vector<Finding> CheckHost(const HostSnapshot& snap, const std::vector<Service>& services,
                               const PortSet& allow, PortRange registrable) {
  std::vector<Finding> out;
  const Listening live = ServerPorts(snap);
  const PortRange eph = snap.config.ephemeral;
  for (const Service& s : services) {
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s.proto, p)) continue;
      const std::string subject = fmt::format("{} ({}/{})", s.name, s.port, ProtocolName(p));
      if (eph.contains(s.port)) {
        out.push_back(Make(FindingId::kRegisteredPortEphemeral, Severity::kError, subject, p, PortSet{{s.port, s.port}},
                           fmt::format("{} is inside ip_local_port_range {}-{}: an outbound "
                                       "connection can take it before the service starts",
                                       s.port, eph.low, eph.high),
                           fmt::format("move the service below {0} ('berth release {1}' then "
                                       "'berth assign {1}'), or reserve it: berth reserve --apply",
                                       eph.low, s.name)));
        // The fix for both is the same move; keep reporting listening state below.
      }
      if (!snap.config.reserved.contains(s.port)) {
        out.push_back(Make(FindingId::kRegisteredPortUnreserved, Severity::kWarning, subject, p,
                           PortSet{{s.port, s.port}},
                           fmt::format("{} is not in net.ipv4.ip_local_reserved_ports", s.port),
                           "berth reserve --apply   (merges with the current value)"));
      }
      if (!live.contains(p, s.port)) {
        out.push_back(Make(FindingId::kRegisteredNotListening, Severity::kWarning, subject, p,
                           PortSet{{s.port, s.port}},
                           fmt::format("nothing {} {}/{} on this host", 
                                       p == Protocol::kTcp ? "listens on" : "is bound to", s.port,
                                       ProtocolName(p)),
                           fmt::format("start {} (or 'berth release {}' if it is gone)", s.name, s.name)));
      }
    }
  }
  const PortsByProto reg = RegisteredPorts(services);
  std::set<std::pair<int, Port>> seen;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& sock = snap.sockets[i];
    if (!sock.is_server()) continue;
    const PortSet& mine = sock.proto == Protocol::kTcp ? reg.tcp : reg.udp;
    if (mine.contains(sock.local_port) || allow.contains(sock.local_port)) continue;
    if (!seen.insert({static_cast<int>(sock.proto), sock.local_port}).second) continue;
    auto [command, pid] = OwnerOf(snap, i);
    Finding f = Make(FindingId::kUnregisteredListener, Severity::kWarning,
                     command.empty() ? FormatEndpoint(sock.local, sock.local_port)
                                     : fmt::format("{} (pid {})", command, pid),
                     sock.proto, PortSet{{sock.local_port, sock.local_port}},
                     fmt::format("{}/{} is not in the registry", sock.local_port,
                                 ProtocolName(sock.proto)),
                     registrable.contains(sock.local_port)
                         ? fmt::format("{}   (or allow it: berth check --allow {})",
                                       AdoptCommand(SuggestServiceName(snap, command,
                                                                       sock.local_port, sock.proto),
                                                    sock.local_port, sock.proto),
                                       sock.local_port)
                         : AllowCommand(sock.local_port));
    if (pid != 0) f.pids.push_back(pid);
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> CheckRange(PortRange proposed, const HostSnapshot& snap,
                                const std::vector<Service>& services, PortRange registrable) {
  std::vector<Finding> out;
  const std::string subject = fmt::format("ip_local_port_range {}-{}", proposed.low, proposed.high);
  if (proposed.low < snap.config.unprivileged_port_start || proposed.low == 0) {
    out.push_back(Make(FindingId::kRangeInvalid, Severity::kError, subject, std::nullopt, {},
                       fmt::format("the range must start at or above "
                                   "net.ipv4.ip_unprivileged_port_start ({})",
                                   snap.config.unprivileged_port_start),
                       "choose a higher LOW"));
  }
  for (const Service& s : services) {
    if (!proposed.contains(s.port)) continue;
    const bool reserved = snap.config.reserved.contains(s.port);
    out.push_back(Make(
        FindingId::kRangeCoversRegistered, reserved ? Severity::kWarning : Severity::kError,
        fmt::format("{} ({}/{})", s.name, s.port, ServiceProtoName(s.proto)), std::nullopt,
        PortSet{{s.port, s.port}},
        reserved ? fmt::format("{} would be inside the new range; it is reserved, so outbound "
                               "connections will not take it, but it leaves the static band",
                               s.port)
                 : fmt::format("{} would be inside the new range and is not reserved: an "
                               "outbound connection can take it before {} starts",
                               s.port, s.name),
        reserved ? "keep it reserved, or move the service below the range"
                 : "berth reserve --apply before widening the range, or move the service"));
  }
  const PortsByProto reg = RegisteredPorts(services);
  std::set<std::pair<int, Port>> seen;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& sock = snap.sockets[i];
    if (!sock.is_server() || !proposed.contains(sock.local_port)) continue;
    if ((sock.proto == Protocol::kTcp ? reg.tcp : reg.udp).contains(sock.local_port)) continue;
    if (snap.config.ephemeral.contains(sock.local_port)) continue;  // already inside today
    if (!seen.insert({static_cast<int>(sock.proto), sock.local_port}).second) continue;
    auto [command, pid] = OwnerOf(snap, i);
    out.push_back(Make(FindingId::kRangeCoversListener, Severity::kWarning,
                       command.empty() ? FormatEndpoint(sock.local, sock.local_port)
                                       : fmt::format("{} (pid {})", command, pid),
                       sock.proto, PortSet{{sock.local_port, sock.local_port}},
                       fmt::format("{}/{} listens in the new range: after a restart an outbound "
                                   "connection may hold its port",
                                   sock.local_port, ProtocolName(sock.proto)),
                       registrable.contains(sock.local_port)
                           ? fmt::format("register and reserve it ({}; berth reserve --apply), "
                                         "or move it",
                                         AdoptCommand(SuggestServiceName(snap, command,
                                                                         sock.local_port, sock.proto),
                                                      sock.local_port, sock.proto))
                           : "move it out of the new range, or keep the range off its port"));
  }
  return out;
}

std::string_view RegStatusName(RegStatus s) {
  switch (s) {
    case RegStatus::kRegistered: return "registered";
    case RegStatus::kUnregistered: return "unregistered";
    case RegStatus::kDrifted: return "drifted";
  }
  return "unregistered";
}

ScanMatch MatchScan(const HostSnapshot& snap, const std::vector<Service>& services,
                    const std::vector<Observation>& previous, PortRange registrable) {
  ScanMatch m;
  m.sockets.resize(snap.sockets.size());
  const Listening live = ServerPorts(snap);
  // (slot, port) -> service
  std::map<std::pair<int, Port>, const Service*> by_port;
  for (const Service& s : services) {
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (Covers(s.proto, p)) by_port[{static_cast<int>(p), s.port}] = &s;
    }
  }
  // command -> services it is known to run
  std::multimap<std::string, const Service*, std::less<>> by_command;
  for (const Observation& o : previous) {
    if (o.command.empty()) continue;
    auto it = by_port.find({static_cast<int>(o.proto), o.port});
    if (it != by_port.end()) by_command.emplace(o.command, it->second);
  }
  for (const Service& s : services) by_command.emplace(std::string(FirstLabel(s.name)), &s);

  std::map<std::tuple<int, Port, std::string>, std::size_t> obs_index;
  std::set<std::pair<int, Port>> reported;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& sock = snap.sockets[i];
    if (!sock.is_server()) continue;
    auto [command, pid] = OwnerOf(snap, i);
    ListenerMatch lm;
    if (auto it = by_port.find({static_cast<int>(sock.proto), sock.local_port}); it != by_port.end()) {
      lm = {RegStatus::kRegistered, it->second->name};
    } else {
      auto [lo, hi] = by_command.equal_range(command);
      for (auto it2 = lo; !command.empty() && it2 != hi; ++it2) {
        const Service* s = it2->second;
        if (Covers(s->proto, sock.proto) && !live.contains(sock.proto, s->port)) {
          lm = {RegStatus::kDrifted, s->name};
          break;
        }
      }
    }
    m.sockets[i] = lm;
    const auto key = std::tuple{static_cast<int>(sock.proto), sock.local_port, command};
    if (!obs_index.contains(key)) {
      obs_index[key] = m.observations.size();
      m.observations.push_back(Observation{snap.hostname, lm.service, sock.proto, sock.local_port,
                                           pid, command, 0, 0});
    }
    if (lm.status == RegStatus::kRegistered) continue;
    if (!reported.insert({static_cast<int>(sock.proto), sock.local_port}).second) continue;
    const std::string subject = command.empty() ? FormatEndpoint(sock.local, sock.local_port)
                                                : fmt::format("{} (pid {})", command, pid);
    Finding f;
    if (lm.status == RegStatus::kDrifted) {
      const Service* s = nullptr;
      for (const Service& x : services) {
        if (x.name == lm.service) s = &x;
      }
      f = Make(FindingId::kDriftedService, Severity::kError, subject, sock.proto,
               PortSet{{sock.local_port, sock.local_port}},
               fmt::format("'{}' is registered on {}/{} but listens on {}", lm.service,
                           s != nullptr ? s->port : 0, ProtocolName(sock.proto), sock.local_port),
               fmt::format("configure {} to listen on {} (berth show {})", lm.service,
                           s != nullptr ? s->port : 0, lm.service));
    } else {
      f = Make(FindingId::kUnregisteredListener, Severity::kInfo, subject, sock.proto,
               PortSet{{sock.local_port, sock.local_port}},
               fmt::format("{}/{} is not in the registry", sock.local_port, ProtocolName(sock.proto)),
               ListenerFix(SuggestServiceName(snap, command, sock.local_port, sock.proto),
                           sock.local_port, sock.proto, registrable));
    }
    if (pid != 0) f.pids.push_back(pid);
    m.findings.push_back(std::move(f));
  }

  // Port changes since the previous scan, per (command, protocol).
  std::map<std::pair<std::string, int>, PortSet> before, now;
  for (const Observation& o : previous) {
    if (!o.command.empty()) before[{o.command, static_cast<int>(o.proto)}].Add(o.port);
  }
  for (const Observation& o : m.observations) {
    if (!o.command.empty()) now[{o.command, static_cast<int>(o.proto)}].Add(o.port);
  }
  for (const auto& [key, ports] : now) {
    auto it = before.find(key);
    if (it == before.end() || !ports.Intersect(it->second).empty()) continue;
    const auto proto = static_cast<Protocol>(key.second);
    m.findings.push_back(Make(
        FindingId::kPortChanged, Severity::kWarning, key.first, proto, ports,
        fmt::format("{} listened on {}/{} at the previous scan and now on {}: its port changes "
                    "when it restarts",
                    key.first, it->second.Format(), ProtocolName(proto), ports.Format()),
        fmt::format("pin it: berth assign {} then configure that port",
                    SuggestServiceName(key.first).empty() ? std::string("NAME")
                                                          : SuggestServiceName(key.first))));
  }
  return m;
}

}  // namespace berth::registry
