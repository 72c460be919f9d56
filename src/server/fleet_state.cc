#include "server/fleet_state.h"

#include <fmt/core.h>

#include "registry/berth_toml.h"

namespace berth::server {

std::string_view HostStateName(HostState state) {
  switch (state) {
    case HostState::kUp: return "up";
    case HostState::kStale: return "stale";
    case HostState::kDown: return "down";
    case HostState::kCollected: return "collected";
  }
  return "down";
}

std::optional<std::int64_t> SyncAge(const registry::HostReport& report, std::int64_t now) {
  if (report.scanned <= 0) return std::nullopt;
  return std::max<std::int64_t>(0, now - report.scanned);
}

namespace {

// "collected at T1 (recorded at T2)": when the host was collected, when berth recorded it.
std::string CollectedWhen(const registry::HostReport& r) {
  const std::string recorded = r.scanned > 0 ? registry::FormatUtc(r.scanned) : "an unknown time";
  if (r.collected <= 0) return fmt::format("collected at an unknown time (recorded at {})", recorded);
  return fmt::format("collected at {} (recorded at {})", registry::FormatUtc(r.collected), recorded);
}

}  // namespace

HostVerdict JudgeHost(const registry::FleetHost& host, std::optional<std::int64_t> lease_left,
                      std::int64_t now, std::string_view store_problem) {
  const bool collected = host.report.source == registry::ReportSource::kCollected;
  if (collected && !host.presence) {
    // Nothing renews a collection: its age is said, not judged (no lease to lose).
    return {HostState::kCollected,
            fmt::format("{}: no agent watches this host; what is shown is that collection",
                        CollectedWhen(host.report))};
  }
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
  if (collected) {
    return {HostState::kStale,
            fmt::format("the agent has not reported a scan yet; the host's collection is shown, {}",
                        CollectedWhen(host.report))};
  }
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
