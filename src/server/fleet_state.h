// Whether each host of the fleet is up, stale, down or collected, and why (docs/serve.md,
// "Host state"): down = no presence (the agent's lease expired or was revoked); stale = a
// presence whose lease missed two renewals (less than a third of its TTL left: the agent
// renews every TTL/3), or a report older than the agent's full refresh (refresh + 2
// intervals), or a store that cannot be reached or answered only a possibly stale read; up
// otherwise. collected = a host no agent watches, whose report is a recorded scan of a
// collection (a Windows host: berth scan of a collected file): a snapshot of when it was
// collected, never up, never down. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registry/model.h"

namespace berth::server {

enum class HostState : std::uint8_t { kUp, kStale, kDown, kCollected };
// "up" / "stale" / "down" / "collected"
std::string_view HostStateName(HostState state);

struct HostVerdict {
  HostState state = HostState::kDown;
  std::string reason;  // one sentence, "" when up
};

// `lease_left`: the presence's lease seconds left now (nullopt: not known yet); `now` unix
// seconds; `store_problem`: why the store's answer may be stale ("" when it is not).
HostVerdict JudgeHost(const registry::FleetHost& host, std::optional<std::int64_t> lease_left,
                      std::int64_t now, std::string_view store_problem);

// Seconds since the host's last reported scan; nullopt when it never reported one.
std::optional<std::int64_t> SyncAge(const registry::HostReport& report, std::int64_t now);

}  // namespace berth::server
