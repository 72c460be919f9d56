// A registered service: a name with a static port, the unit the registry stores and every
// emitter (firewall rules, exports) consumes. Names are restricted (ValidateServiceName) so
// that they are safe to embed anywhere; emitters still quote for their own language.
// Plain values; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/port.h"

namespace berth {

enum class ServiceProto : std::uint8_t { kTcp, kUdp, kBoth };

std::string_view ServiceProtoName(ServiceProto p);  // "tcp" / "udp" / "both"
// Accepts tcp, udp, both. Failure: kInvalidArgument listing the choices.
Result<ServiceProto> ParseServiceProto(std::string_view text);
inline bool Covers(ServiceProto sp, Protocol p) {
  return sp == ServiceProto::kBoth || (sp == ServiceProto::kTcp) == (p == Protocol::kTcp);
}

struct Service {
  std::string name;         // "mssql.instance1": DNS labels, dot-separated
  ServiceProto proto = ServiceProto::kTcp;
  Port port = 0;            // the port, or the first of a range
  std::uint32_t size = 1;   // ports held: port .. port+size-1 (a range claim when > 1)
  std::string group = "default";
  std::string family;       // "" or a family name such as "mssql"
  std::string owner;        // free text: a team or a person
  std::string description;  // free text
  std::vector<std::string> tags;     // free text
  std::vector<std::string> sources;  // allowed source CIDRs for firewall rules; empty = any
  std::int64_t created = 0;  // unix seconds
  std::int64_t updated = 0;
};

// The most ports one service may hold: Windows' default dynamic range (16,384 ports) is the
// largest block a port mapper is given.
inline constexpr std::uint32_t kMaxServiceSize = 16384;

// The ports `s` holds: {port, port} for one port, the whole block for a range claim.
// Precondition: ValidateServiceSpan(s) passed (the block ends at 65535 at most).
inline PortRange PortsOf(const Service& s) {
  return PortRange{s.port, static_cast<Port>(s.port + s.size - 1)};
}

// A port 1-65535 and a size 1-kMaxServiceSize whose block ends at 65535 at most. Failure:
// kInvalidArgument naming the service and what is wrong.
Result<void> ValidateServiceSpan(const Service& s);

// The services of `group` ("" = every group), sorted by (name, port), each checked: a valid
// name and a static port (1-65535). The pointers point into `services`. An empty result is
// not a failure. Failure: kInvalidArgument naming the first bad service (ValidateServiceSpan).
[[nodiscard]] Result<std::vector<const Service*>> SelectServices(std::span<const Service> services,
                                                                 std::string_view group);

// Lowercase DNS labels joined by dots: each label of [a-z0-9-], not starting or ending with
// '-'; the name starts with a letter and is 63 characters at most in all, so that every
// export can carry it (a Kubernetes or Consul name is the name with dots as dashes). Failure: kInvalidArgument saying what
// is allowed and what was wrong.
Result<void> ValidateServiceName(std::string_view name);

// A registry label from network or host text: lowercase, runs of anything outside [a-z0-9]
// become one '-', no '-' at either end, at most 63 characters; "" when nothing is left.
std::string RegistryLabel(std::string_view text);

inline constexpr std::size_t kMaxTextBytes = 1024;

// Free text (an owner, a description, a tag, a host): valid UTF-8, no control character
// (C0 including line breaks, DEL, C1, U+2028/U+2029), at most kMaxTextBytes bytes.
// Checked wherever text enters the registry, so every export can carry it. Failure:
// kInvalidArgument "FIELD 'value': what is wrong; the rule" (the value terminal-safe, cut).
Result<void> ValidateText(std::string_view field, std::string_view value);

// ValidateText on a service's owner, description and tags.
Result<void> ValidateServiceText(const Service& s);

}  // namespace berth
