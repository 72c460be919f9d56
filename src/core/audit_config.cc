// Findings about the host's port configuration (see core/audit_parts.h).
#include <fmt/core.h>

#include "core/audit_parts.h"
#include "core/classify.h"

namespace berth::audit {
namespace {

// Below this many ports an ephemeral range is small, and a free part of the range at least
// this large is worth proposing as the new range. The texts say "10,000".
constexpr std::uint32_t kEnoughEphemeralPorts = 10000;

// The command that prefixes sysctl fixes, so they run in the audited namespace.
std::string SysctlPrefix(const HostSnapshot& snap) {
  if (snap.netns.empty()) return "sysctl -w";
  if (snap.netns.find('/') == std::string::npos) {
    return fmt::format("ip netns exec {} sysctl -w", snap.netns);
  }
  return fmt::format("nsenter --net={} sysctl -w", snap.netns);
}

}  // namespace

std::optional<Finding> EphemeralRangeSmallFinding(const AuditInput& in) {
  const PortRange eph = in.ephemeral;
  if (eph.size() >= kEnoughEphemeralPorts) return std::nullopt;
  return Finding{
      .id = FindingId::kEphemeralRangeSmall,
      .severity = Severity::kWarning,
      .subject = "host",
      .proto = std::nullopt,
      .ports = PortSet{eph},
      .pids = {},
      .why = fmt::format("the ephemeral range {}-{} has only {} ports: busy clients run out "
                         "(each destination IP:port gets at most that many connections)",
                         eph.low, eph.high, eph.size()),
      .fix = fmt::format("{} net.ipv4.ip_local_port_range=\"{} {}\"  (check first that no "
                         "server listens in the new part)",
                         SysctlPrefix(in.snap), kLinuxEphemeralRange.low,
                         kLinuxEphemeralRange.high)};
}

std::optional<Finding> RangeOverlapsListenersFinding(const AuditInput& in) {
  if (in.servers_in_range.empty()) return std::nullopt;
  const PortRange eph = in.ephemeral;
  // Suggest the largest part of the current range that no server sits in.
  PortSet free_part{eph};
  free_part.Subtract(in.servers_in_range);
  PortRange best{};
  for (PortRange r : free_part.ranges()) {
    if (r.size() > best.size() || best == PortRange{}) best = r;
  }
  // The kernel's documentation (ip-sysctl: ip_local_port_range) asks for ends of different
  // parity, one even and one odd: give up the last port when both are alike.
  if (best.high > best.low && best.low % 2 == best.high % 2) --best.high;
  std::string fix =
      best.size() >= kEnoughEphemeralPorts && !free_part.empty()
          ? fmt::format("move the servers out of the range (preferred), or shrink the range "
                        "around them: {} net.ipv4.ip_local_port_range=\"{} {}\"",
                        SysctlPrefix(in.snap), best.low, best.high)
          : std::string("move the servers to static ports below the range (each one's "
                        "ephemeral-listener finding names its berth assign); no part of the "
                        "range free of servers is 10,000 ports or larger");
  return Finding{.id = FindingId::kRangeOverlapsListeners,
                 .severity = Severity::kInfo,
                 .subject = "host",
                 .proto = std::nullopt,
                 .ports = in.servers_in_range,
                 .pids = {},
                 .why = fmt::format("the ephemeral range {}-{} overlaps {} servers use", eph.low,
                                    eph.high, Plural(in.servers_in_range.count(), "port")),
                 .fix = std::move(fix)};
}

std::optional<Finding> UnreservedEphemeralPortsFinding(const AuditInput& in) {
  const PortSet& reserved = in.snap.config.reserved;
  PortSet unreserved = in.tcp_in_range;
  unreserved.Subtract(reserved);
  if (unreserved.empty()) return std::nullopt;
  PortSet merged = reserved;
  merged.Add(unreserved);
  const bool empty = reserved.empty();
  const bool one = unreserved.count() == 1;
  return Finding{
      .id = empty ? FindingId::kReservedPortsEmpty : FindingId::kUnreservedEphemeralPorts,
      .severity = Severity::kWarning,
      .subject = "host",
      .proto = Protocol::kTcp,
      .ports = unreserved,
      .pids = {},
      .why = empty ? fmt::format("{} {} inside the ephemeral range and "
                                 "net.ipv4.ip_local_reserved_ports is empty: any outbound "
                                 "connection may take {} first",
                                 Plural(unreserved.count(), "TCP port"),
                                 one ? "listens" : "listen", one ? "it" : "them")
                   : fmt::format("{} inside the ephemeral range {} not in "
                                 "net.ipv4.ip_local_reserved_ports: any outbound connection "
                                 "may take {} first",
                                 Plural(unreserved.count(), "TCP listener port"),
                                 one ? "is" : "are", one ? "it" : "them"),
      .fix = fmt::format("{} net.ipv4.ip_local_reserved_ports={}\n"
                         "and keep it across reboots: echo "
                         "'net.ipv4.ip_local_reserved_ports = {}' > "
                         "/etc/sysctl.d/60-berth.conf  (merged with the current value; "
                         "writing the sysctl replaces the whole list)",
                         SysctlPrefix(in.snap), merged.Format(), merged.Format())};
}

}  // namespace berth::audit
