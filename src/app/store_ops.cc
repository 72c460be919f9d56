#include "app/store_ops.h"

namespace berth::app {

Result<StoreHealth> CheckStore(registry::Store& store) {
  auto problems = store.CheckIntegrity();
  if (!problems) {
    // SQLite reports some damage as a failing check rather than as rows.
    if (problems.error().code != ErrorCode::kMalformed) return std::unexpected(problems.error());
    return StoreHealth{store.Location(), {problems.error().message}};
  }
  return StoreHealth{store.Location(), std::move(*problems)};
}

}  // namespace berth::app
