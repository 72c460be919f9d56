// `berth serve`'s /metrics in the Prometheus text format 0.0.4 (docs/serve.md, "Metrics"):
// host states, findings by host, id and severity, registered and drifted services by group,
// listeners inside a host's ephemeral range, agent sync age, the store's health. Label
// values from the fleet are made printable (control bytes and invalid UTF-8 as \xNN text)
// and escaped. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "server/fleet_watch.h"

namespace berth::server {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// `store_problem`: why the store did not answer ("" when it did).
std::string RenderMetrics(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                          std::int64_t now, std::string_view store_problem);

// A label value as it goes between the quotes.
std::string MetricLabelValue(std::string_view value);

}  // namespace berth::server
