// Findings about where servers listen (see core/audit_parts.h).
#include <algorithm>
#include <array>

#include <fmt/core.h>

#include "core/audit.h"
#include "core/audit_parts.h"
#include "core/classify.h"
#include "core/conventional_ports.h"
#include "core/fix_commands.h"
#include "core/iana.h"

namespace berth {
namespace {

// Daemons whose /proc comm shares no letters with the IANA name of what they serve. The
// second element is a token of the service name: "http" covers www-http, https, http-alt.
constexpr std::array<std::pair<std::string_view, std::string_view>, 37> kAliases{{
    {"nginx", "http"}, {"apache2", "http"}, {"httpd", "http"}, {"caddy", "http"},
    {"haproxy", "http"}, {"envoy", "http"}, {"traefik", "http"}, {"lighttpd", "http"},
    {"postgres", "postgresql"}, {"mysqld", "mysql"}, {"mariadbd", "mysql"},
    {"mariadb", "mysql"},  // a unit, a Compose service or an image named for MySQL's fork
    {"named", "domain"}, {"unbound", "domain"}, {"dnsmasq", "domain"},
    {"systemd-resolve", "domain"}, {"coredns", "domain"}, {"dnsmasq", "bootps"},
    {"chronyd", "ntp"}, {"ntpd", "ntp"}, {"rpcbind", "sunrpc"}, {"portmap", "sunrpc"},
    {"smbd", "microsoft-ds"}, {"smbd", "netbios"}, {"nmbd", "netbios"}, {"cupsd", "ipp"},
    {"master", "smtp"}, {"master", "submission"}, {"exim4", "smtp"}, {"sendmail", "smtp"},
    {"dhclient", "bootpc"}, {"avahi-daemon", "mdns"}, {"sqlservr", "ms-sql"},
    {"rpc.mountd", "mountd"}, {"rpc.statd", "status"}, {"memcached", "memcache"},
    {"samba-dcerpcd", "epmap"},
}};

std::string SampleIana(const PortSet& ports, Protocol proto) {
  std::string out;
  int shown = 0;
  for (PortRange r : ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high && shown < 3; ++p, ++shown) {
      auto e = IanaLookup(static_cast<Port>(p), proto);
      if (!out.empty()) out += ", ";
      out += fmt::format("{} is {}", p, e ? e->service : "?");
    }
  }
  if (ports.count() > 3) out += ", ...";
  return out;
}

// The service name a fix suggests for the group's process, or one made of its first port
// when the process is unknown ("tcp-40000"): a fix must run as printed.
std::string NameFor(const audit::ServerGroup& g) {
  std::string name = g.process != nullptr ? SuggestServiceName(g.process->command) : "";
  if (!name.empty() || g.ports.empty()) return name.empty() ? std::string("service") : name;
  return PortServiceName(static_cast<Port>(g.ports.ranges().front().low), g.proto);
}

// The commands that keep `ports` where they are, registered (or allowed, outside the
// registry's default range), at most three, joined by "; ".
std::string KeepCommands(const ServiceNamer& names, const audit::ServerGroup& g,
                         const PortSet& ports) {
  const std::string_view command =
      g.process != nullptr ? std::string_view(g.process->command) : std::string_view();
  std::string out;
  int shown = 0;
  for (PortRange r : ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high; ++p) {
      if (shown == 3) return out + "; ...";
      if (shown++ > 0) out += "; ";
      const Port port = static_cast<Port>(p);
      out += ListenerFix(names.Suggest(command, port, g.proto), port, g.proto,
                         kIanaUserRange);
    }
  }
  return out;
}

// Processes that run someone else's program (an interpreter, a VM, a container's port
// forwarder): their name says nothing of the product they serve.
constexpr std::array<std::string_view, 12> kRuntimes{
    "java", "node", "ruby", "dotnet", "beam.smp", "php", "perl", "mono", "docker-proxy",
    "rootlessport", "conmon", "containerd-shim"};

bool AnonymousRuntime(const ProcessInfo& p) {
  if (p.command.starts_with("python")) return true;
  return std::find(kRuntimes.begin(), kRuntimes.end(), p.command) != kRuntimes.end();
}

}  // namespace

bool CommandMatchesService(std::string_view command, std::string_view service) {
  for (auto [c, token] : kAliases) {
    if (c == command && service.find(token) != std::string_view::npos) return true;
  }
  std::string cmd = LettersAndDigits(command);
  std::string svc = LettersAndDigits(service);
  if (cmd.empty() || svc.empty()) return false;
  if (cmd.size() > 3 && cmd.back() == 'd') cmd.pop_back();  // sshd -> ssh
  if (cmd == svc) return true;
  if (cmd.size() >= 3 && svc.size() >= 3 && (cmd.starts_with(svc) || svc.starts_with(cmd))) {
    return true;
  }
  return false;
}

namespace audit {

std::optional<Finding> EphemeralListenerFinding(const AuditInput& in, const ServerGroup& g) {
  const PortSet in_range = g.ports.Intersect(in.ephemeral);
  if (in_range.empty()) return std::nullopt;
  const PortRange eph = in.ephemeral;
  const bool tcp = g.proto == Protocol::kTcp;
  return Finding{
      .id = FindingId::kEphemeralListener,
      .severity = tcp ? Severity::kWarning : Severity::kInfo,
      .subject = g.subject,
      .proto = g.proto,
      .ports = in_range,
      .pids = g.pids,
      .why = tcp ? fmt::format("listens on {} inside the ephemeral range {}-{}: an outbound "
                               "connection can take it before the server starts, and every "
                               "firewall sees a dynamic port",
                               Plural(in_range.count(), "port"), eph.low, eph.high)
                 : fmt::format("UDP socket bound on {} inside the ephemeral range {}-{}: a "
                               "server here moves on restart (a client socket here is normal)",
                               Plural(in_range.count(), "port"), eph.low, eph.high),
      .fix = fmt::format("give the service a static port below {} (berth assign {} prints "
                         "one) and restart it; until then reserve the port (see {})",
                         eph.low, NameFor(g),
                         FindingIdName(in.snap.config.reserved.empty()
                                           ? FindingId::kReservedPortsEmpty
                                           : FindingId::kUnreservedEphemeralPorts))};
}

std::optional<Finding> DynamicRangeListenerFinding(const AuditInput& in, const ServerGroup& g) {
  PortSet outside = g.ports.Intersect(kIanaDynamicRange);
  outside.Subtract(in.ephemeral);
  if (outside.empty()) return std::nullopt;
  return Finding{
      .id = FindingId::kDynamicRangeListener,
      .severity = Severity::kInfo,
      .subject = g.subject,
      .proto = g.proto,
      .ports = outside,
      .pids = g.pids,
      .why = fmt::format("port in the IANA dynamic range {}-{}: never assigned, the ephemeral "
                         "range of Windows and macOS, inside FreeBSD's {}-{}, and treated as "
                         "dynamic by firewalls",
                         kIanaDynamicRange.low, kIanaDynamicRange.high,
                         kFreeBsdEphemeralRange.low, kFreeBsdEphemeralRange.high),
      .fix = fmt::format("move the service to a static port in {}-{} (berth assign {})",
                         kIanaUserRange.low, kLinuxEphemeralRange.low - 1, NameFor(g))};
}

std::optional<Finding> IanaMismatchFinding(const AuditInput& in, const ServerGroup& g) {
  if (g.process == nullptr) return std::nullopt;
  PortSet foreign;
  for (PortRange r : g.ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high; ++p) {
      if (in.ephemeral.contains(static_cast<Port>(p))) continue;
      // A conventional port is the table's to judge: its product is at home there, and
      // another owner draws conventional-port, which names IANA's service too.
      if (!ConventionalAt(static_cast<Port>(p), g.proto).empty()) continue;
      auto e = IanaLookup(static_cast<Port>(p), g.proto);
      if (e && !CommandMatchesService(g.process->command, e->service)) {
        foreign.Add(static_cast<Port>(p));
      }
    }
  }
  if (foreign.empty()) return std::nullopt;
  return Finding{
      .id = FindingId::kIanaMismatch,
      .severity = Severity::kInfo,
      .subject = g.subject,
      .proto = g.proto,
      .ports = foreign,
      .pids = g.pids,
      .why = fmt::format("IANA assigns {} to other services ({})",
                         foreign.count() == 1 ? "this port" : "these ports",
                         SampleIana(foreign, g.proto)),
      .fix = "fine if clients are configured with the port; to keep it, record it: " +
             KeepCommands(in.names, g, foreign)};
}

std::optional<Finding> ConventionalPortFinding(const AuditInput& in, const ServerGroup& g) {
  if (g.process == nullptr || AnonymousRuntime(*g.process)) return std::nullopt;
  PortSet ports;
  std::string why;
  for (PortRange r : g.ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high; ++p) {
      const Port port = static_cast<Port>(p);
      // The product at home: its command or its unit (elasticsearch.service) names it.
      const auto others = ConventionalOthers(port, g.proto, g.process->command);
      if (others.empty() || ConventionalOthers(port, g.proto, g.process->unit).empty()) continue;
      if (ports.empty()) why = ConventionalWhy(others, g.process->command);
      ports.Add(port);
    }
  }
  if (ports.empty()) return std::nullopt;
  if (ports.count() > 1) why += fmt::format(" (and {} more)", Plural(ports.count() - 1, "port"));
  return Finding{
      .id = FindingId::kConventionalPort,
      .severity = Severity::kInfo,
      .subject = g.subject,
      .proto = g.proto,
      .ports = ports,
      .pids = g.pids,
      .why = why,
      .fix = "fine if nothing here expects that product; to keep the port, record it: " +
             KeepCommands(in.names, g, ports) +
             fmt::format("; or move the service (berth assign {} prints a free port)", NameFor(g))};
}

}  // namespace audit
}  // namespace berth
