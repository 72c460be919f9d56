// The JSON documents of `berth serve`'s API (schemas in docs/api.md), written with the one
// JsonWriter (every string escaped: names from the fleet stay inert data). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "registry/allocator.h"
#include "server/fleet_watch.h"

namespace berth::server {

inline constexpr std::string_view kApiSchema = "berth.api/1";

// Every document opens with {"schema", "revision", "read_at", "stale"} ("stale": why the
// data may be stale, or null).
std::string HostsJson(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                      std::int64_t now);
// One host's last scan; `host` must be in the snapshot.
std::string ObservationsJson(const FleetSnapshot& snap, const JudgedHost& host);
// `host` "" = every host's findings, each with its host.
std::string FindingsJson(const FleetSnapshot& snap, std::string_view host);
std::string ServicesJson(const FleetSnapshot& snap);
std::string ClaimsJson(const FleetSnapshot& snap, std::string_view group);
std::string GroupsJson(const FleetSnapshot& snap);
std::string DriftJson(const FleetSnapshot& snap);
// The page's data: hosts, their listeners, services, claims, groups, findings, drift, and
// the event stream's `generation` the data is at least as new as.
std::string MapJson(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                    std::int64_t now, std::uint64_t generation);

// POST /api/v1/assign's reply: the record, and as `warnings` the rules its port breaks
// without being refused (a port other products use by convention) and what the host view
// could not read (`host_warnings`), each {rule, message, remedies}.
std::string AssignedJson(const registry::Assignment& a, std::span<const std::string> host_warnings);
std::string ReleasedJson(std::span<const registry::ServiceRecord> released);

// {"error": CODE, "message": ..., "remedies": [{"remedy", "subject", "detail"}]}.
std::string ErrorJson(std::string_view code, std::string_view message,
                      std::span<const Hint> hints = {});

// The class of `port` on a host: "reserved", "ephemeral", "system" or "user".
std::string_view PortClassName(const registry::HostReport& report, Port port);

}  // namespace berth::server
