// Drift across the fleet (docs/api.md, GET /api/v1/drift): a registered service seen by an
// agent listening on a port other than its own (the scan matched the listener to it), or
// not listening on its port on any reporting host of its group. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/port.h"
#include "server/fleet_watch.h"

namespace berth::server {

enum class DriftKind : std::uint8_t { kOtherPort, kNotListening };
std::string_view DriftKindName(DriftKind kind);  // "other-port" / "not-listening"

struct Drift {
  std::string service;
  std::string group;
  Port registered = 0;
  DriftKind kind = DriftKind::kOtherPort;
  std::string host;   // kOtherPort: where; kNotListening: ""
  Port seen = 0;      // kOtherPort: the port it listens on
  Protocol proto = Protocol::kTcp;
};

// Sorted by service, then host.
std::vector<Drift> FindDrift(const FleetSnapshot& snap);

// The hosts of `group` in `snap`: those whose agent serves it or that the group lists.
bool HostInGroup(const FleetSnapshot& snap, const registry::FleetHost& host,
                 const std::string& group);

}  // namespace berth::server
