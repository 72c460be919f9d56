// The identifiers of berth's findings: one enumerator per kind of finding, each with the
// stable kebab-case name that scan/check/range output and JSON carry. docs/findings.md (and
// docs/registry.md for the registry's) document every name. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace berth {

enum class FindingId : std::uint8_t {
  // The host audit (core/audit.h).
  kEphemeralListener,
  kReservedPortsEmpty,
  kUnreservedEphemeralPorts,
  kPortMapper,
  kMappedService,
  kIanaMismatch,
  kConventionalPort,
  kDynamicRangeListener,
  kRangeOverlapsListeners,
  kEphemeralRangeSmall,
  // The audit of a collected Windows host (core/audit_windows.h).
  kSqlDynamicPort,
  kFirewallBroadRule,
  // Ephemeral-port pressure (core/pressure.h).
  kEphemeralPortPressure,
  // The registry's conformance checks (registry/conformance.h).
  kUnregisteredListener,
  kDriftedService,
  kPortChanged,
  kRegisteredPortEphemeral,
  kRegisteredNotListening,
  kRangeCoversRegistered,
  kRangeCoversListener,
  kRangeInvalid,
};

// Every FindingId, in declaration order.
std::span<const FindingId> AllFindingIds();

// The stable name: "ephemeral-listener", "unregistered-listener", ...
std::string_view FindingIdName(FindingId id);

// The id whose name is `name` exactly; nullopt for any other text.
std::optional<FindingId> ParseFindingId(std::string_view name);

}  // namespace berth
