// Use cases of the declarative registry file (berth.toml): `berth plan`, `apply` and
// `import` compute the registry the file asks for and the changes to get there; apply and
// import then write it in one transaction; `berth export --consul-url` registers the services
// with Consul. Never prints.
// One thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "emit/service_export.h"
#include "registry/allocator.h"
#include "registry/plan.h"
#include "registry/store.h"

namespace berth::app {

enum class FileMode : std::uint8_t {
  kImport,  // merge the file into the registry
  kPlan,    // compute what apply would change, write nothing
  kApply,   // make the registry exactly the file
};

struct FilePlan {
  registry::RegistryDoc current;   // the registry now
  registry::RegistryDoc resolved;  // what it becomes (ports filled in)
  std::vector<registry::Change> changes;
  std::vector<std::string> warnings;  // policy warnings (a file is the operator's word)
};

// Plans the parsed file `desired` (registry::ParseBerthToml; named `source` in messages)
// against `store`. Parse before opening the store, so that a bad file never creates one.
// Failure: the allocator's for a port that cannot be resolved (prefixed with `source`), the
// store's.
[[nodiscard]] Result<FilePlan> PlanFile(registry::Store& store, const registry::HostView& host,
                                        registry::RegistryDoc desired, std::string_view source,
                                        FileMode mode);

// The changes of `plan` that remove an entry of the registry the file does not name.
std::vector<registry::Change> Removals(const FilePlan& plan);

// Writes a plan in one transaction (nothing when it has no changes). Removals are written only
// when `prune`. Failure: kInvalidArgument when the plan removes entries and not `prune`; the
// store's; nothing was written.
[[nodiscard]] Result<void> CommitPlan(registry::Store& store, const FilePlan& plan,
                                      std::string_view source, bool prune);

// Registers the registry's services with a Consul agent. Returns how many. Failure: the
// exporter's, the client's.
[[nodiscard]] Result<std::size_t> RegisterServicesWithConsul(registry::Store& store,
                                                             std::string_view url,
                                                             const ExportOptions& options,
                                                             std::string token);

}  // namespace berth::app
