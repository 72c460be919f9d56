// What every load-balancer export (emit/export_lb.h: HAProxy, nginx, Envoy) decides the same
// way, before it writes a byte: which services, their backends, the bind address, what is
// proxied. Internal to src/emit; pure, thread-safe.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/service.h"
#include "emit/export_lb.h"

namespace berth::lb {

struct Plan {
  std::vector<const Service*> services;                     // selected, checked, sorted
  std::map<std::string, std::vector<LbBackend>> backends;  // by service name
  std::string bind;       // "" or the address as HAProxy and nginx write it ([IPv6])
  std::string bind_host;  // "" or the address alone (IPv6 without brackets)
};

// The selected services and each one's backends: the ones given, else its group's hosts (for
// the services `program` proxies). Failure: as the Render*Export functions say.
[[nodiscard]] Result<Plan> MakePlan(std::span<const Service> services, const LbOptions& o,
                                    LbProgram program);

// Whether `program` proxies `s`: HAProxy no UDP-only service; a range claim (a port mapper's
// dynamic block) is reached directly, never proxied.
bool Proxied(const Service& s, LbProgram program);

// The comment line a front end gets instead of a range claim, after a blank line.
std::string RangeNotProxied(const Service& s, std::string_view indent);

// "every group" or "group NAME" (comment-safe).
std::string Scope(const LbOptions& o);

// Whether `host` is an IP address (v4, or v6 without brackets) rather than a DNS name.
bool IpLiteral(const std::string& host);

}  // namespace berth::lb
