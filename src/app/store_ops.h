// Use cases about the registry store itself: `berth store check`, `status` and `copy`. Never
// prints. One thread.
#pragma once

#include <string>
#include <vector>

#include "registry/store.h"

namespace berth::app {

struct StoreHealth {
  std::string location;
  std::string kind;                   // "sqlite" / "etcd"
  std::vector<std::string> problems;  // empty when healthy
};

// Runs the store's full consistency check (SQLite: PRAGMA integrity_check). A store that
// cannot even be read as a registry is reported by the caller from the open's kMalformed.
// Failure: the store's (I/O, permission, lock).
[[nodiscard]] Result<StoreHealth> CheckStore(registry::Store& store);

// `berth store status`: what the store is, how its members answer, and what it holds.
struct StoreStatus {
  std::string location;
  std::string kind;
  std::vector<registry::StoreMember> members;  // etcd: one per endpoint
  std::int64_t revision = 0;
  std::size_t services = 0, claims = 0, groups = 0, families = 0;
};
// Failure: the store's (unreachable, no quorum): the members are still in the error's text.
[[nodiscard]] Result<StoreStatus> GetStoreStatus(registry::Store& store);

// `berth store copy`: makes `to` hold exactly the registry of `from` (groups, families,
// services with their times and reasons; not observations), in one atomic step on `to`.
// Returns what was copied. Failure: either store's; nothing is written to `to` on failure.
[[nodiscard]] Result<registry::RegistryDoc> CopyStore(registry::Store& from, registry::Store& to);

}  // namespace berth::app
