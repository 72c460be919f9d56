// Load-balancer front ends for registered services (berth export --format
// haproxy|nginx|envoy): one front end on each service's registered port, proxying TCP (and UDP
// where the program can) to its backends, which are checked. Pure: text goes to a Sink.
// Thread-safe. Every name and address written is validated first (service names by
// SelectServices, hosts here): no byte from the registry or the command line reaches the
// configuration unchecked; free text only in comments (CommentText) or, in Envoy's YAML, in
// double-quoted scalars (YamlQuote). docs/registry.md describes the outputs.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/sink.h"
#include "core/service.h"

namespace berth {

struct LbOptions {
  std::string group;                  // "" = every group
  std::vector<std::string> backends;  // "SERVICE=HOST[:PORT]" ([IPv6]:PORT); a service that
                                      // has any takes only these
  std::string bind;                   // the front ends' address: "" (every address), IPv4 or IPv6
  // The hosts of each group (registry::Group::hosts): a service without a backend given is
  // proxied to each host of its group on its own port.
  std::map<std::string, std::vector<std::string>, std::less<>> group_hosts;
};

// One backend: a host (a DNS name or an address) and a port.
struct LbBackend {
  std::string host;  // an IPv6 address without brackets
  Port port = 0;
  friend bool operator==(const LbBackend&, const LbBackend&) = default;
};

// "HOST", "HOST:PORT", "[IPv6]:PORT" -> a backend (`default_port` when no port is given).
// Failure: kInvalidArgument for a host that is neither a DNS name (labels of letters, digits
// and '-', at most 253 characters) nor an IP address, or a port that is not 1-65535.
[[nodiscard]] Result<LbBackend> ParseLbBackend(std::string_view text, Port default_port);

// Which program a front end is for: HAProxy proxies TCP only, nginx and Envoy TCP and UDP.
enum class LbProgram : std::uint8_t { kHaproxy, kNginx, kEnvoy };

// The selected services `program` proxies that have no backend: none given, and no hosts in
// their group.
std::vector<std::string> LbServicesWithoutBackend(std::span<const Service> services,
                                                  const LbOptions& options, LbProgram program);

// HAProxy: a `defaults` section (mode tcp, timeouts) and one `listen` section per TCP
// service (`bind` on its port, `server ... check`: a TCP connect check every 2 s). UDP-only
// services are named in a comment (HAProxy does not proxy UDP).
// nginx: one `stream {}` block (include it at nginx.conf's top level): per service an
// `upstream` with its backends (max_fails/fail_timeout: nginx's passive checks) and a
// `server` listening on its port, `udp` too for a UDP service.
// Failure: kInvalidArgument for a bad backend, bind address or group host, or a backend for
// a service that is not exported; kNotFound when nothing is selected or a service has no
// backend (LbServicesWithoutBackend tells which beforehand).
[[nodiscard]] Result<void> RenderHaproxyExport(std::span<const Service> services,
                                               const LbOptions& options, const Sink& sink);
[[nodiscard]] Result<void> RenderNginxExport(std::span<const Service> services,
                                             const LbOptions& options, const Sink& sink);

// Envoy: a v3 bootstrap with only `static_resources` (src/emit/export_envoy.cc). Per service
// a listener on its registered port (the bind address, else 0.0.0.0, as HAProxy's and nginx's
// front ends) and a cluster of its backends (STATIC when every backend is an IP address, else
// STRICT_DNS): TCP through envoy.filters.network.tcp_proxy, the cluster actively checked
// (tcp_health_check every 2 s, 3 failures out, 2 successes back, as HAProxy's); UDP through
// the envoy.filters.udp_listener.udp_proxy listener filter, its cluster not checked (Envoy
// has no UDP check). A service on both protocols gets a listener and a cluster for each, the
// UDP ones named NAME_udp ('_' is never in a service name). Range claims get a comment.
// Names, addresses, groups and descriptions are YAML double-quoted scalars; the service,
// group and description ride in each listener's and cluster's metadata (filter_metadata
// "berth"). Failure: as above.
[[nodiscard]] Result<void> RenderEnvoyExport(std::span<const Service> services,
                                             const LbOptions& options, const Sink& sink);

}  // namespace berth
