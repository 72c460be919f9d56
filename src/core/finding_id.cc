#include "core/finding_id.h"

#include <array>
#include <utility>

namespace berth {
namespace {

// The one table of names. Order does not matter; the tests check that every enumerator is
// here exactly once and that names are unique.
constexpr std::array<std::pair<FindingId, std::string_view>, 21> kNames{{
    {FindingId::kEphemeralListener, "ephemeral-listener"},
    {FindingId::kReservedPortsEmpty, "reserved-ports-empty"},
    {FindingId::kUnreservedEphemeralPorts, "unreserved-ephemeral-ports"},
    {FindingId::kPortMapper, "port-mapper"},
    {FindingId::kMappedService, "mapped-service"},
    {FindingId::kIanaMismatch, "iana-mismatch"},
    {FindingId::kConventionalPort, "conventional-port"},
    {FindingId::kDynamicRangeListener, "dynamic-range-listener"},
    {FindingId::kRangeOverlapsListeners, "range-overlaps-listeners"},
    {FindingId::kEphemeralRangeSmall, "ephemeral-range-small"},
    {FindingId::kSqlDynamicPort, "sql-dynamic-port"},
    {FindingId::kFirewallBroadRule, "firewall-broad-rule"},
    {FindingId::kEphemeralPortPressure, "ephemeral-port-pressure"},
    {FindingId::kUnregisteredListener, "unregistered-listener"},
    {FindingId::kDriftedService, "drifted-service"},
    {FindingId::kPortChanged, "port-changed"},
    {FindingId::kRegisteredPortEphemeral, "registered-port-ephemeral"},
    {FindingId::kRegisteredNotListening, "registered-not-listening"},
    {FindingId::kRangeCoversRegistered, "range-covers-registered"},
    {FindingId::kRangeCoversListener, "range-covers-listener"},
    {FindingId::kRangeInvalid, "range-invalid"},
}};

static_assert(static_cast<std::size_t>(FindingId::kRangeInvalid) + 1 == kNames.size(),
              "every FindingId needs a name in kNames");

constexpr std::array<FindingId, kNames.size()> kAll = [] {
  std::array<FindingId, kNames.size()> ids{};
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<FindingId>(i);
  return ids;
}();

}  // namespace

std::span<const FindingId> AllFindingIds() { return kAll; }

std::string_view FindingIdName(FindingId id) {
  for (const auto& [value, name] : kNames) {
    if (value == id) return name;
  }
  return "unknown";  // only for a value cast from outside the enumeration
}

std::optional<FindingId> ParseFindingId(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

}  // namespace berth
