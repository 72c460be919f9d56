// The rules about what a declared port means beyond this host's ranges: a port IANA assigns
// to another service, one other products use by convention, and Kubernetes' NodePort range.
#include <algorithm>
#include <array>

#include <fmt/core.h>

#include "core/audit.h"
#include "core/classify.h"
#include "core/conventional_ports.h"
#include "core/iana.h"
#include "core/port_mappers.h"
#include "lint/rule_parts.h"

namespace berth::lint {
namespace {

// A single fixed port a server takes on the host, or nullopt.
std::optional<Port> FixedHostPort(const PortDecl& d) {
  if (!OnHost(d) || d.dynamic != Dynamic::kNo || d.ports.low != d.ports.high || d.ports.low == 0) {
    return std::nullopt;
  }
  return d.ports.low;
}

// The registry holds the service on this very port: the choice is recorded, not a surprise.
bool RecordedHere(const PortDecl& d, const RuleContext& ctx, Port port) {
  const Service* s = Registered(d, ctx);
  return s != nullptr && s->port == port && Covers(s->proto, d.proto);
}

// IANA services of the user range that run often enough beside anything for a port of
// theirs in other hands to mislead; IANA assigns most of the range, mostly to services
// nobody meets (5433 pyrrho, 8081 sunproxyadmin), and those are not worth a word.
constexpr std::array<std::string_view, 20> kWellKnownIana{
    "amqp",      "amqps",      "couchdb",       "epmd",     "etcd-client", "etcd-server",
    "git",       "memcache",   "mongodb",       "ms-sql-s", "ms-wbt-server", "mqtt",
    "mysql",     "nfs",        "postgresql",    "redis",    "secure-mqtt", "sip",
    "sips",      "xmpp-client"};

// A port IANA's table is worth quoting for: a system port, or a well-known service's.
bool WorthQuoting(const IanaEntry& e) {
  return kIanaSystemRange.contains(e.port) ||
         std::find(kWellKnownIana.begin(), kWellKnownIana.end(), e.service) != kWellKnownIana.end();
}

// True when the declaring service, or the image that serves it, passes `is`.
template <typename Is>
bool DeclaredBy(const PortDecl& d, Is is) {
  return is(AssignName(d)) || (!d.image.empty() && is(d.image));
}

bool MapperPort(Port port, Protocol proto) {
  for (const PortMapper& m : kPortMappers) {
    if (m.audited && m.port == port && m.proto == proto) return true;
  }
  return false;
}

}  // namespace

void IanaOtherServiceRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  const std::optional<Port> port = FixedHostPort(d);
  // Ports another rule speaks of are left to it: the ephemeral range, port mappers,
  // conventional ports.
  if (!port || kLinuxEphemeralRange.contains(*port) || MapperPort(*port, d.proto) ||
      !ConventionalAt(*port, d.proto).empty() || RecordedHere(d, ctx, *port)) {
    return;
  }
  const auto iana = IanaLookup(*port, d.proto);
  // Web ports (http 80, http-alt 8080, pcsync-https 8443) are any web server's.
  if (!iana || !WorthQuoting(*iana) || iana->service.find("http") != std::string_view::npos ||
      DeclaredBy(d, [&](std::string_view n) { return CommandMatchesService(n, iana->service); })) {
    return;
  }
  const std::string name = AssignName(d);
  LintFinding f = Make(LintRule::kIanaOtherService, d);
  f.why = fmt::format("IANA assigns {}/{} to {} ({}), not to {}: firewalls, scanners and people "
                      "who go by IANA's registry take the port for that service, and {} cannot "
                      "run beside it",
                      *port, ProtocolName(d.proto), iana->service, iana->description, name,
                      iana->service);
  f.fix = fmt::format("fine when every client is configured with the port: record it ('berth "
                      "assign {} --port {} --allow-iana'); or set {} to {}",
                      name, *port, PortSetting(d), PortAdvice(d, ctx));
  out.push_back(std::move(f));
}

void ConventionalPortRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  const std::optional<Port> port = FixedHostPort(d);
  if (!port || RecordedHere(d, ctx, *port)) return;
  const auto others = ConventionalAt(*port, d.proto);
  if (others.empty() || DeclaredBy(d, [&](std::string_view n) {
        return ConventionalOthers(*port, d.proto, n).empty();
      })) {
    return;
  }
  const std::string name = AssignName(d);
  LintFinding f = Make(LintRule::kConventionalPort, d);
  f.why = ConventionalWhy(others, name);
  f.fix = fmt::format("fine when nothing on these hosts expects {}: record it ('berth assign {} "
                      "--port {} --allow-iana'); or set {} to {}",
                      others.size() == 1 ? "it" : "them", name, *port, PortSetting(d),
                      PortAdvice(d, ctx));
  out.push_back(std::move(f));
}

void NodePortRangeRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  if (d.kind != DeclKind::kNodePortRange) return;
  PortSet overlap = PortSet{d.ports}.Intersect(kLinuxEphemeralRange);
  std::string where = fmt::format("the Linux ephemeral range {}-{}", kLinuxEphemeralRange.low,
                                  kLinuxEphemeralRange.high);
  if (overlap.empty()) {
    overlap = ctx.group_ephemeral.Intersect(d.ports);
    where = fmt::format("the ephemeral ranges of group {}'s hosts ({})", ctx.group,
                        ctx.group_ephemeral.Format());
  }
  if (overlap.empty()) return;
  LintFinding f = Make(LintRule::kNodePortRange, d);
  f.ports = overlap;
  f.why = fmt::format("the NodePort range {} overlaps {} ({}): every node opens each NodePort, "
                      "and an outbound connection can hold one of those ports when a Service "
                      "is given it",
                      RangeText(d.ports), where, overlap.Format());
  f.fix = fmt::format("keep NodePorts below {}: --service-node-port-range=30000-32767 "
                      "(Kubernetes' default); or reserve the overlap on every node: sysctl -w "
                      "net.ipv4.ip_local_reserved_ports={}",
                      kLinuxEphemeralRange.low, overlap.Format());
  out.push_back(std::move(f));
}

}  // namespace berth::lint
