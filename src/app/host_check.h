// Use cases that hold a host to the registry: `berth check` (its registered ports are safe,
// reserved and listening; its listeners are registered or allowed), `berth range` (what a new
// ephemeral range would break) and `berth reserve` (ip_local_reserved_ports covering the
// registry, merged with the current value, written to sysctl.d and set now). Never prints.
// One thread.
#pragma once

#include <string>
#include <vector>

#include "core/finding.h"
#include "core/host_source.h"
#include "registry/store.h"

namespace berth::app {

// A host and what the registry says of it.
struct HostAgainstRegistry {
  HostSnapshot snap;
  std::vector<Service> services;  // of the groups this host belongs to
  PortSet allow;                  // the groups' allowlists
  PortRange registrable = registry::kUserRange;  // the default group's range
};
// The same for a snapshot already taken and a registry already read (no I/O).
HostAgainstRegistry AgainstRegistry(HostSnapshot snap, const registry::RegistryDoc& doc);
[[nodiscard]] Result<HostAgainstRegistry> LoadHostAgainstRegistry(registry::Store& store,
                                                                  HostSource& host, bool owners);

struct CheckReport {
  std::vector<Finding> findings;
  std::size_t services = 0;            // registered services of this host
  std::vector<std::string> warnings;   // from the snapshot
};
// `extra_allow` adds to the groups' allowlists.
[[nodiscard]] Result<CheckReport> CheckHost(registry::Store& store, HostSource& host,
                                            const PortSet& extra_allow, bool owners);

struct RangeReport {
  std::vector<Finding> findings;
  PortRange now;                       // the host's current range
  std::vector<std::string> warnings;
};
// Failure: kInvalidArgument for a range outside 1-65535 or reversed; the store's, the host's.
[[nodiscard]] Result<RangeReport> CheckRange(registry::Store& store, HostSource& host,
                                             int low, int high);

struct ReservePlan {
  PortSet current;      // ip_local_reserved_ports now
  PortSet merged;       // current plus every registered port of this host's groups
  std::string file;     // the sysctl.d file that sets `merged`
};
[[nodiscard]] Result<ReservePlan> PlanReserve(registry::Store& store, std::string_view hostname);

// Writes plan.file to `path` atomically; with `set_now` also sets the value in this network
// namespace and reads it back. Returns the value now in force (nullopt when not set now or
// already covered: `changed` says which).
struct ReserveApplied {
  bool set = false;       // the value was written to the kernel
  PortSet value;          // what the kernel holds (when set)
};
[[nodiscard]] Result<void> WriteReserveFile(const ReservePlan& plan, const std::string& path);
[[nodiscard]] Result<ReserveApplied> SetReservedNow(const ReservePlan& plan);

}  // namespace berth::app
