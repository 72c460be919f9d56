// Use cases that read and change the registry's services, groups and families: assign,
// release, list, show, group add, family add. Each works on any registry::Store. Never prints;
// errors carry the reason, and the caller words the remedy. One thread.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "registry/allocator.h"
#include "registry/store.h"

namespace berth::app {

// Steps of a multi-name command that stopped at a failure: what was done before it, and the
// failure (none when every name went through).
template <class T>
struct Steps {
  std::vector<T> done;
  std::optional<Error> failed;
};

// Assigns each request in order with one allocator over `host`, in one atomic step: a failure
// leaves the registry as it was (`done` is then empty).
Steps<registry::Assignment> Assign(registry::Store& store, registry::HostView host,
                                   std::span<const registry::AssignRequest> requests);

// Releases the names in one atomic step: all of them or none. A name that is not registered
// is skipped when `missing_ok`, else nothing is released (kNotFound, naming the registry).
// Returns the released records (none on failure).
Steps<registry::ServiceRecord> Release(registry::Store& store, std::span<const std::string> names,
                                       bool missing_ok);

// Which services `berth list` shows; empty fields match everything.
struct ServiceFilter {
  std::string group, family, owner, tag;
  std::string proto;  // "tcp"/"udp" (a both-service counts for each) or "both"
};
bool Matches(const ServiceFilter& filter, const Service& s);

struct ServiceList {
  std::vector<registry::ServiceRecord> services;  // sorted by name, filtered
  std::int64_t revision = 0;
};
[[nodiscard]] Result<ServiceList> ListServices(registry::Store& store, const ServiceFilter& filter);

struct ServiceDetail {
  registry::ServiceRecord record;
  std::vector<registry::Observation> observations;  // most recent first
};
// Failure: kNotFound naming the registry when `name` is not registered.
[[nodiscard]] Result<ServiceDetail> ShowService(registry::Store& store, std::string_view name);

// `berth group add`: creates the group or merges into it (hosts and port sets are added;
// description and range replaced when given).
struct GroupEdit {
  std::string name, description;
  std::vector<std::string> hosts;
  PortSet ephemeral, reserved, allow;
  std::optional<PortRange> range;
};
// Failure: kInvalidArgument for a bad name or range; the store's.
[[nodiscard]] Result<registry::Group> AddToGroup(registry::Store& store, const GroupEdit& edit);

// `berth family add`: creates or replaces a family. Failure: kInvalidArgument for a bad name
// (one DNS label, no dots), base or size; the store's.
[[nodiscard]] Result<void> AddFamily(registry::Store& store, const registry::Family& family);

}  // namespace berth::app
