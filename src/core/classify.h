// Classifying a port three ways: by RFC 6335's ranges, by this host's live kernel
// configuration (ephemeral range, reserved list) and by IANA's registry. Pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "core/iana.h"
#include "core/port.h"

namespace berth {

// RFC 6335's ranges: system ports, user ports (IANA assigns them on request) and the dynamic
// range, which IANA never assigns. The dynamic range is also the default dynamic (ephemeral)
// port range of Windows (since Vista / Server 2008) and of macOS.
inline constexpr PortRange kIanaSystemRange{0, 1023};
inline constexpr PortRange kIanaUserRange{1024, 49151};
inline constexpr PortRange kIanaDynamicRange{49152, 65535};

// Default ephemeral ranges (the ports a kernel hands to outbound connections) of other
// systems: Linux's net.ipv4.ip_local_port_range, FreeBSD's net.inet.ip.portrange.first/last.
inline constexpr PortRange kLinuxEphemeralRange{32768, 60999};
inline constexpr PortRange kFreeBsdEphemeralRange{10000, 65535};

enum class Rfc6335Class : std::uint8_t { kSystem, kUser, kDynamic };

Rfc6335Class ClassifyRfc6335(Port p);          // by kIanaSystemRange, kIanaUserRange, kIanaDynamicRange
std::string_view Rfc6335Name(Rfc6335Class c);  // "system" / "user" / "dynamic"

// The kernel's port allocation settings for one network namespace. IPv6 shares the
// IPv4 sysctls. Defaults are the kernel's (a new namespace starts with them).
struct HostPortConfig {
  PortRange ephemeral = kLinuxEphemeralRange;  // net.ipv4.ip_local_port_range
  PortSet reserved;                   // net.ipv4.ip_local_reserved_ports
  int unprivileged_port_start = 1024; // net.ipv4.ip_unprivileged_port_start
  int tcp_tw_reuse = 2;               // net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only
  int tcp_timestamps = 1;             // net.ipv4.tcp_timestamps: tw_reuse works only with them

  // Ports automatic assignment can hand out: the range minus the reserved list.
  std::uint32_t usable_ephemeral() const;
};

struct PortClass {
  Rfc6335Class rfc6335;
  bool ephemeral;  // inside ip_local_port_range
  bool reserved;   // listed in ip_local_reserved_ports
  std::optional<IanaEntry> iana;
};

PortClass ClassifyPort(Port p, Protocol proto, const HostPortConfig& config);

// "dynamic", "user", "system", with ",ephemeral" / ",reserved" appended when they apply.
std::string ClassLabel(const PortClass& c);
// The same, appended to `out`.
void AppendClassLabel(std::string& out, const PortClass& c);
// Its length.
std::size_t ClassLabelWidth(const PortClass& c);

}  // namespace berth
