#include "app/store_ops.h"

#include <fmt/core.h>

namespace berth::app {

Result<StoreHealth> CheckStore(registry::Store& store) {
  StoreHealth out{store.Location(), std::string(store.Kind()), {}};
  auto problems = store.CheckIntegrity();
  if (!problems) {
    // SQLite reports some damage as a failing check rather than as rows.
    if (problems.error().code != ErrorCode::kMalformed) return std::unexpected(problems.error());
    out.problems = {problems.error().message};
    return out;
  }
  out.problems = std::move(*problems);
  return out;
}

Result<StoreStatus> GetStoreStatus(registry::Store& store) {
  StoreStatus out;
  out.location = store.Location();
  out.kind = std::string(store.Kind());
  out.members = store.Members();
  out.revision = BERTH_TRY(store.Revision());
  const registry::RegistryDoc doc = BERTH_TRY(store.Export());
  out.services = doc.services.size();
  out.groups = doc.groups.size();
  out.families = doc.families.size();
  out.claims = BERTH_TRY(store.ListClaims("")).size();
  return out;
}

Result<registry::RegistryDoc> CopyStore(registry::Store& from, registry::Store& to) {
  if (from.Location() == to.Location()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("--from and --to are the same store ({}): nothing to copy",
                            from.Location()));
  }
  registry::RegistryDoc doc = BERTH_TRY(from.Export());
  BERTH_TRY(to.Replace(doc, fmt::format("copied from {}", from.Location())));
  return doc;
}

}  // namespace berth::app
