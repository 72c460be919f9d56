#include "server/fleet_state.h"

#include <fmt/core.h>

namespace berth::server {

std::string_view HostStateName(HostState state) {
  switch (state) {
    case HostState::kUp: return "up";
    case HostState::kStale: return "stale";
    case HostState::kDown: return "down";
  }
  return "down";
}

std::optional<std::int64_t> SyncAge(const registry::HostReport& report, std::int64_t now) {
  if (report.scanned <= 0) return std::nullopt;
  return std::max<std::int64_t>(0, now - report.scanned);
}

HostVerdict JudgeHost(const registry::FleetHost& host, std::optional<std::int64_t> lease_left,
                      std::int64_t now, std::string_view store_problem) {
  if (!host.presence) {
    return {HostState::kDown, host.report.scanned > 0
                                  ? "no agent: its lease expired or was revoked; what it last "
                                    "reported is shown"
                                  : "no agent: its lease expired or was revoked"};
  }
  const registry::HostPresence& p = *host.presence;
  if (!store_problem.empty()) return {HostState::kStale, std::string(store_problem)};
  if (lease_left && p.ttl > 0 && *lease_left < p.ttl / 3) {
    return {HostState::kStale,
            fmt::format("the agent missed two lease renewals: {} s of its {} s lease left",
                        std::max<std::int64_t>(*lease_left, 0), p.ttl)};
  }
  const auto age = SyncAge(host.report, now);
  if (!age) return {HostState::kStale, "the agent has not reported a scan yet"};
  // An agent writes its report when something changed, and even unchanged every `refresh`
  // scans: older than that (plus two intervals of slack) means its scans stopped reaching
  // the store although its lease is renewed.
  if (p.interval > 0 && p.refresh > 0 && *age > (p.refresh + 2) * p.interval) {
    return {HostState::kStale,
            fmt::format("the last report is {} s old, and the agent rewrites it at least every "
                        "{} scans of {} s",
                        *age, p.refresh, p.interval)};
  }
  return {HostState::kUp, ""};
}

}  // namespace berth::server
