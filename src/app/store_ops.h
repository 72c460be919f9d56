// Use cases about the registry store itself: `berth store check`. Never prints. One thread.
#pragma once

#include <string>
#include <vector>

#include "registry/store.h"

namespace berth::app {

struct StoreHealth {
  std::string location;
  std::vector<std::string> problems;  // empty when healthy
};

// Runs the store's full consistency check (SQLite: PRAGMA integrity_check). A store that
// cannot even be read as a registry is reported by the caller from the open's kMalformed.
// Failure: the store's (I/O, permission, lock).
[[nodiscard]] Result<StoreHealth> CheckStore(registry::Store& store);

}  // namespace berth::app
