#include "app/firewall.h"

#include <arpa/inet.h>

#include <set>

#include <fmt/core.h>

#include "registry/berth_toml.h"

namespace berth::app {

Result<FirewallInput> FirewallInputFromFile(std::string_view text, std::string_view source) {
  registry::RegistryDoc doc = BERTH_TRY(registry::ParseBerthToml(text, source));
  for (const Service& s : doc.services) {
    if (s.port == 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: service '{}' has no port yet: assign it first ('berth "
                              "import' then 'berth firewall')",
                              source, s.name));
    }
  }
  return FirewallInput{std::move(doc.services), std::move(doc.groups)};
}

Result<FirewallInput> FirewallInputFromStore(registry::Store& store) {
  std::vector<registry::ServiceRecord> records = BERTH_TRY(store.ListServices());
  FirewallInput out;
  out.services.reserve(records.size());
  for (registry::ServiceRecord& r : records) out.services.push_back(std::move(r.service));
  out.groups = BERTH_TRY(store.ListGroups());
  return out;
}

PortSet GroupAllow(std::span<const registry::Group> groups, std::string_view group) {
  PortSet out;
  for (const registry::Group& g : groups) {
    if (group.empty() || g.name == group) out.Add(g.allow);
  }
  return out;
}

Result<std::string> FirewallRules(FirewallFormat format, std::span<const Service> services,
                                  const FirewallOptions& options) {
  std::string rules;
  BERTH_TRY(RenderFirewall(format, services, options, [&rules](std::string_view s) { rules += s; }));
  return rules;
}

namespace {

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address the packets carry.
IpAddress Unmapped(const IpAddress& a) {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.family != 6 || !std::equal(std::begin(kPrefix), std::end(kPrefix), a.bytes.begin())) {
    return a;
  }
  IpAddress v4;
  v4.family = 4;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

// Is `a` inside `cidr` (canonical "net/prefix" text, as PlanFirewall keeps it)?
bool InCidr(const IpAddress& a, const std::string& cidr) {
  const std::size_t slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  std::array<std::uint8_t, 16> net{};
  const std::string addr = cidr.substr(0, slash);
  if (::inet_pton(a.family == 4 ? AF_INET : AF_INET6, addr.c_str(), net.data()) != 1) return false;
  const int prefix = std::stoi(cidr.substr(slash + 1));
  for (int bit = 0; bit < prefix; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((a.bytes[byte] & mask) != (net[byte] & mask)) return false;
  }
  return true;
}

bool Admits(const FirewallPlan& plan, const IpAddress& peer, Port port) {
  const auto tcp = static_cast<std::size_t>(Protocol::kTcp);
  if (plan.any[tcp].contains(port)) return true;
  for (const auto& [cidr, ports] : peer.family == 4 ? plan.v4_sources[tcp] : plan.v6_sources[tcp]) {
    if (ports.contains(port) && InCidr(peer, cidr)) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<InboundSession>> SessionsLockedOut(FirewallFormat format,
                                                      std::span<const Service> services,
                                                      const FirewallOptions& options,
                                                      HostSource& host) {
  std::vector<InboundSession> out;
  if (options.policy == FirewallPolicy::kAccept) return out;
  const FirewallPlan plan = BERTH_TRY(PlanFirewall(services, options));
  HostQuery query;
  query.all_states = true;
  query.udp = false;
  query.resolve_owners = false;
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  std::set<Port> listening;
  for (const SocketRecord& s : snap.sockets) {
    if (s.proto == Protocol::kTcp && s.is_server()) listening.insert(s.local_port);
  }
  for (const SocketRecord& s : snap.sockets) {
    if (s.proto != Protocol::kTcp || s.state != SocketState::kEstablished) continue;
    if (!listening.contains(s.local_port)) continue;  // outbound: this host connected
    const IpAddress peer = Unmapped(snap.Remote(s));
    const IpAddress local = Unmapped(snap.Local(s));
    if (peer.is_loopback() || peer == local) continue;  // through lo, which every format admits
    if (format == FirewallFormat::kIptables && peer.family != 4) continue;
    if (format == FirewallFormat::kIp6tables && peer.family != 6) continue;
    if (Admits(plan, peer, s.local_port)) continue;
    out.push_back({local, s.local_port, peer, s.remote_port});
  }
  return out;
}

Result<ApplyOutcome> ApplyRules(RulesTool tool, FirewallFormat format, std::string_view rules,
                                std::span<const Service> services, const FirewallOptions& options,
                                const ApplyOptions& stateless_options,
                                const ApplyRequest& request, HostSource& host,
                                const Clock& clock) {
  ApplyOptions apply_options = stateless_options;
  apply_options.now_unix = clock.UnixSeconds();
  if (RevertPending(tool, apply_options)) {
    return Fail(ErrorCode::kConflict,
                fmt::format("the last apply of {} rules still waits for confirmation (state in "
                            "{}): confirm it or let it be restored first",
                            RulesToolName(tool), apply_options.state_dir));
  }
  ApplyOutcome out;
  if (!request.force) {
    out.locked_out = BERTH_TRY(SessionsLockedOut(format, services, options, host));
    if (!out.locked_out.empty()) return out;
  }
  BERTH_TRY(ApplyFirewall(tool, rules, apply_options));
  out.applied = true;
  if (request.confirm_within) {
    auto pid = StartRevertWatchdog(tool, apply_options, *request.confirm_within,
                                   request.watchdog_args);
    if (!pid) {
      auto back = RollbackFirewall(tool, apply_options);
      return Fail(pid.error().code,
                  fmt::format("{}; the rules just loaded were {}", pid.error().message,
                              back ? "rolled back" : "NOT rolled back: " + back.error().message));
    }
    out.watchdog_pid = *pid;
  }
  return out;
}

Result<void> RollbackRules(RulesTool tool, const ApplyOptions& options, RollbackTo to) {
  if (RevertPending(tool, options)) {
    // Gone already means the watchdog claimed it and rolls back itself.
    (void)ConfirmApply(tool, options);
  }
  return RollbackFirewall(tool, options, to);
}

Result<SurfaceReport> CompareSurfaceOnHost(std::span<const Service> services, SurfaceOptions o,
                                           HostSource& host, std::vector<std::string>& warnings) {
  HostQuery query;
  query.resolve_owners = false;
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  o.ephemeral = snap.config.ephemeral;
  for (const PortMapper& m : kPortMappers) {
    for (const SocketRecord& s : snap.sockets) {
      if (s.is_server() && s.proto == m.proto && s.local_port == m.port) {
        o.live_mappers.push_back(m);
        break;
      }
    }
  }
  warnings.insert(warnings.end(), snap.warnings.begin(), snap.warnings.end());
  return CompareSurface(services, o);
}

}  // namespace berth::app
