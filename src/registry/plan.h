// Declarative changes: turning a parsed berth.toml into the exact registry it describes
// (services without a port keep the one they have, or are allocated by the usual rule, in
// name order), and the list of changes between two registries that `berth plan` prints and
// `berth apply` makes in one transaction.
#pragma once

#include <string>
#include <vector>

#include "registry/allocator.h"
#include "registry/model.h"

namespace berth::registry {

// Fills in the port of every service of `desired` that has none: the port `current` has
// for that name (same group and protocol), else an allocation against `desired` itself.
// Failure: the allocator's (no free port, unknown family...).
[[nodiscard]] Result<RegistryDoc> ResolvePorts(RegistryDoc desired, const RegistryDoc& current,
                                               const HostView& host);

// `desired` with every entry of `current` it does not name added (import merges).
RegistryDoc Merge(const RegistryDoc& current, const RegistryDoc& desired);

struct Change {
  enum class Kind : std::uint8_t { kAdd, kChange, kRemove };
  Kind kind = Kind::kAdd;
  std::string what;    // "group", "family", "service"
  std::string name;
  std::string detail;  // "1433/tcp", "port 1433 -> 1435, owner 'a' -> 'b'"
};

// Changes that turn `current` into `desired`, groups then families then services, by name.
std::vector<Change> Diff(const RegistryDoc& current, const RegistryDoc& desired);

// For the services `changes` adds or changes: a line for each port outside its group's
// range (families exempt) or inside the ephemeral range of a host of its group. A file is
// the operator's word, so these are warnings (printed by plan and apply), not errors.
std::vector<std::string> PolicyWarnings(const RegistryDoc& desired,
                                        const std::vector<Change>& changes, const HostView& host);

// "+ service web 8080/tcp" lines and a summary line.
std::string FormatChanges(const std::vector<Change>& changes);

}  // namespace berth::registry
