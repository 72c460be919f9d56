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


std::optional<Protocol> SingleProtocol(ServiceProto sp) {
  if (sp == ServiceProto::kTcp) return Protocol::kTcp;
  if (sp == ServiceProto::kUdp) return Protocol::kUdp;
  return std::nullopt;
}

// At most this many registering commands in one finding's fix; the rest are counted.
constexpr std::size_t kFixCommands = 5;

// One unregistered-listener finding per owner and protocol for the server sockets `stray`
// (indices into snap.sockets): the ports a process holds are one thing to say, not one per
// port. The fix has one command per line: `berth adopt` for each port inside `registrable`,
// one `berth group add default --allow` for the ports outside it, and with
// `offer_check_allow` the `berth check --allow` that accepts them all for one run.
std::vector<Finding> UnregisteredListeners(const HostSnapshot& snap,
                                           const std::vector<std::uint32_t>& stray,
                                           Severity severity, PortRange registrable,
                                           bool offer_check_allow) {
  struct Owner {
    std::string command;
    int pid = 0;
    std::string subject;
    Protocol proto = Protocol::kTcp;
    PortSet ports;
  };
  std::vector<Owner> owners;
  std::map<std::tuple<int, std::string, int>, std::size_t> index;
  const ServiceNamer names(snap);
  for (std::uint32_t i : stray) {
    const SocketRecord& sock = snap.sockets[i];
    auto [command, pid] = OwnerOf(snap, i);
    // Sockets without a visible owner are grouped by what is known: nothing but the protocol.
    const auto key = std::tuple{pid, command, static_cast<int>(sock.proto)};
    auto [it, fresh] = index.try_emplace(key, owners.size());
    if (fresh) {
      owners.push_back(Owner{command, pid,
                             command.empty() ? (snap.owners_resolved
                                                    ? std::string("no visible process")
                                                    : std::string("owner not looked up"))
                                             : fmt::format("{} (pid {})", command, pid),
                             sock.proto, {}});
    }
    owners[it->second].ports.Add(sock.local_port);
  }
  std::vector<Finding> out;
  for (Owner& o : owners) {
    PortSet outside = o.ports;
    PortSet inside = o.ports.Intersect(PortSet{{registrable.low, registrable.high}});
    outside.Subtract(inside);
    std::vector<std::string> lines;
    PortSet more;
    for (PortRange r : inside.ranges()) {
      for (std::uint32_t p = r.low; p <= r.high; ++p) {
        const Port port = static_cast<Port>(p);
        if (lines.size() == kFixCommands) {
          more.Add(port);
          continue;
        }
        lines.push_back(AdoptCommand(names.Suggest(o.command, port, o.proto), port,
                                     o.proto));
      }
    }
    if (!outside.empty()) lines.push_back(AllowCommand(outside));
    if (!more.empty()) {
      lines.push_back(fmt::format("(and {}, each adopted the same way: {})",
                                  more.count() == 1 ? "1 more port" : fmt::format("{} more ports", more.count()),
                                  more.Format()));
    }
    if (offer_check_allow) {
      lines.push_back(fmt::format("or accept for this check only: berth check --allow {}",
                                  o.ports.Format()));
    }
    std::string fix;
    for (const std::string& l : lines) fix += (fix.empty() ? "" : "\n") + l;
    const std::uint32_t n = o.ports.count();
    Finding f = Make(FindingId::kUnregisteredListener, severity, o.subject, o.proto, o.ports,
                     n == 1 ? fmt::format("{}/{} is not in the registry", o.ports.Format(),
                                          ProtocolName(o.proto))
                            : fmt::format("{} {} ports are not in the registry ({})", n,
                                          ProtocolName(o.proto), o.ports.Format()),
                     std::move(fix));
    if (o.pid != 0) f.pids.push_back(o.pid);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

PortsByProto RegisteredPorts(const std::vector<Service>& services) {
  PortsByProto out;
  for (const Service& s : services) {
    if (s.port == 0) continue;
    if (Covers(s.proto, Protocol::kTcp)) out.tcp.Add(PortsOf(s));
    if (Covers(s.proto, Protocol::kUdp)) out.udp.Add(PortsOf(s));
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
  // One finding per service and kind: a "both" service is one subject, not two.
  for (const Service& s : services) {
    const std::string subject =
        fmt::format("{} ({}/{})", s.name, FormatRange(PortsOf(s)), ServiceProtoName(s.proto));
    const std::optional<Protocol> proto = SingleProtocol(s.proto);
    // The ports of the service inside the range (a range claim may hold a part of it).
    const PortSet inside = PortSet{PortsOf(s)}.Intersect(eph);
    if (!inside.empty()) {
      // Reserving only matters inside the ephemeral range: the kernel hands out no other
      // port. Reserved, the port is safe on this host but still a dynamic port to firewalls
      // and to the group's other hosts.
      PortSet unreserved = inside;
      unreserved.Subtract(snap.config.reserved);
      const bool reserved = unreserved.empty();
      out.push_back(Make(
          FindingId::kRegisteredPortEphemeral, reserved ? Severity::kWarning : Severity::kError,
          subject, proto, inside,
          reserved ? fmt::format("{} is inside ip_local_port_range {}-{}; it is reserved here, "
                                 "but firewalls see a dynamic port and hosts that do not "
                                 "reserve it can hand it out",
                                 inside.Format(), eph.low, eph.high)
                   : fmt::format("{} is inside ip_local_port_range {}-{} and not in "
                                 "net.ipv4.ip_local_reserved_ports: an outbound connection can "
                                 "take it before the service starts",
                                 unreserved.Format(), eph.low, eph.high),
          reserved ? fmt::format("move the service below {0} when you can ('berth release {1}' "
                                 "then 'berth assign {1}')",
                                 eph.low, s.name)
                   : fmt::format("berth reserve --apply   (merges with the current value), then "
                                 "move the service below {0} ('berth release {1}' then "
                                 "'berth assign {1}')",
                                 eph.low, s.name)));
    }
    std::vector<Protocol> silent;
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      // A range claim is a pool its ports are taken from on demand (an RPC block): an idle
      // one is not a silent service.
      if (s.size == 1 && Covers(s.proto, p) && !live.contains(p, s.port)) silent.push_back(p);
    }
    if (!silent.empty()) {
      const std::string what =
          silent.size() == 2 ? fmt::format("nothing listens on {0}/tcp or is bound to {0}/udp",
                                           s.port)
          : silent[0] == Protocol::kTcp ? fmt::format("nothing listens on {}/tcp", s.port)
                                        : fmt::format("nothing is bound to {}/udp", s.port);
      out.push_back(Make(FindingId::kRegisteredNotListening, Severity::kWarning, subject,
                         silent.size() == 1 ? std::optional(silent[0]) : proto,
                         PortSet{{s.port, s.port}}, what + " on this host",
                         fmt::format("start {} (or 'berth release {}' if it is gone)", s.name,
                                     s.name)));
    }
  }
  const PortsByProto reg = RegisteredPorts(services);
  std::vector<std::uint32_t> stray;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& sock = snap.sockets[i];
    if (!sock.is_server()) continue;
    const PortSet& mine = sock.proto == Protocol::kTcp ? reg.tcp : reg.udp;
    if (!mine.contains(sock.local_port) && !allow.contains(sock.local_port)) stray.push_back(i);
  }
  for (Finding& f : UnregisteredListeners(snap, stray, Severity::kWarning, registrable,
                                          /*offer_check_allow=*/true)) {
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
    const PortSet inside = PortSet{PortsOf(s)}.Intersect(proposed);
    if (inside.empty()) continue;
    PortSet unreserved = inside;
    unreserved.Subtract(snap.config.reserved);
    const bool reserved = unreserved.empty();
    out.push_back(Make(
        FindingId::kRangeCoversRegistered, reserved ? Severity::kWarning : Severity::kError,
        fmt::format("{} ({}/{})", s.name, FormatRange(PortsOf(s)), ServiceProtoName(s.proto)),
        std::nullopt, inside,
        reserved ? fmt::format("{} would be inside the new range; it is reserved, so outbound "
                               "connections will not take it, but it leaves the static band",
                               inside.Format())
                 : fmt::format("{} would be inside the new range and is not reserved: an "
                               "outbound connection can take it before {} starts",
                               unreserved.Format(), s.name),
        reserved ? "keep it reserved, or move the service below the range"
                 : "berth reserve --apply before widening the range, or move the service"));
  }
  const PortsByProto reg = RegisteredPorts(services);
  const ServiceNamer names(snap);
  std::set<std::pair<int, Port>> seen;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& sock = snap.sockets[i];
    if (!sock.is_server() || !proposed.contains(sock.local_port)) continue;
    if ((sock.proto == Protocol::kTcp ? reg.tcp : reg.udp).contains(sock.local_port)) continue;
    if (snap.config.ephemeral.contains(sock.local_port)) continue;  // already inside today
    if (!seen.insert({static_cast<int>(sock.proto), sock.local_port}).second) continue;
    auto [command, pid] = OwnerOf(snap, i);
    out.push_back(Make(FindingId::kRangeCoversListener, Severity::kWarning,
                       command.empty() ? FormatEndpoint(snap.Local(sock), sock.local_port)
                                       : fmt::format("{} (pid {})", command, pid),
                       sock.proto, PortSet{{sock.local_port, sock.local_port}},
                       fmt::format("{}/{} listens in the new range: after a restart an outbound "
                                   "connection may hold its port",
                                   sock.local_port, ProtocolName(sock.proto)),
                       registrable.contains(sock.local_port)
                           ? fmt::format("register and reserve it ({}; berth reserve --apply), "
                                         "or move it",
                                         AdoptCommand(names.Suggest(command, sock.local_port, sock.proto),
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
                    const std::vector<Observation>& previous, PortRange registrable,
                    const PortSet& allow) {
  ScanMatch m;
  m.sockets.resize(snap.sockets.size());
  const Listening live = ServerPorts(snap);
  // (slot, port) -> service
  std::map<std::pair<int, Port>, const Service*> by_port;
  for (const Service& s : services) {
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s.proto, p)) continue;
      const PortRange ports = PortsOf(s);
      for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
        by_port[{static_cast<int>(p), static_cast<Port>(port)}] = &s;
      }
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
  std::vector<std::uint32_t> stray;
  // The server ports each command holds now: a command that holds a service's port (over
  // either protocol) runs that service where it belongs, whatever else it listens on.
  std::map<std::string, PortSet, std::less<>> held;
  for (std::uint32_t i = 0; i < snap.sockets.size(); ++i) {
    if (!snap.sockets[i].is_server()) continue;
    if (auto [command, pid] = OwnerOf(snap, i); !command.empty()) {
      held[command].Add(snap.sockets[i].local_port);
    }
  }
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
        if (Covers(s->proto, sock.proto) && !live.contains(sock.proto, s->port) &&
            !held[command].contains(s->port)) {
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
    if (lm.status == RegStatus::kUnregistered) {
      if (!allow.contains(sock.local_port)) stray.push_back(i);
      continue;
    }
    const std::string subject = command.empty() ? FormatEndpoint(snap.Local(sock), sock.local_port)
                                                : fmt::format("{} (pid {})", command, pid);
    Finding f;
    {
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
    }
    if (pid != 0) f.pids.push_back(pid);
    m.findings.push_back(std::move(f));
  }
  for (Finding& f : UnregisteredListeners(snap, stray, Severity::kInfo, registrable,
                                          /*offer_check_allow=*/false)) {
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
                    SuggestServiceName(key.first).empty()
                        ? PortServiceName(static_cast<Port>(ports.ranges().front().low), proto)
                        : SuggestServiceName(key.first))));
  }
  return m;
}

}  // namespace berth::registry
