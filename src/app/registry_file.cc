#include "app/registry_file.h"

#include <fmt/core.h>

#include "probe/consul_client.h"

namespace berth::app {

Result<FilePlan> PlanFile(registry::Store& store, const registry::HostView& host,
                          registry::RegistryDoc desired, std::string_view source, FileMode mode) {
  FilePlan plan;
  plan.current = BERTH_TRY(store.Export());
  if (mode == FileMode::kImport) desired = registry::Merge(plan.current, desired);
  auto resolved = registry::ResolvePorts(std::move(desired), plan.current, host);
  if (!resolved) {
    return std::unexpected(Wrap(resolved.error(), fmt::format("{}: ", source)));
  }
  plan.resolved = std::move(*resolved);
  plan.changes = registry::Diff(plan.current, plan.resolved);
  plan.warnings = registry::PolicyWarnings(plan.resolved, plan.changes, host);
  return plan;
}

std::vector<registry::Change> Removals(const FilePlan& plan) {
  std::vector<registry::Change> out;
  for (const registry::Change& c : plan.changes) {
    if (c.kind == registry::Change::Kind::kRemove) out.push_back(c);
  }
  return out;
}

Result<void> CommitPlan(registry::Store& store, const FilePlan& plan, std::string_view source,
                        bool prune) {
  if (plan.changes.empty()) return {};
  if (!prune && !Removals(plan).empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} would remove registry entries it does not name", source));
  }
  return store.Replace(plan.resolved, fmt::format("declared in {}", source));
}

Result<std::size_t> RegisterServicesWithConsul(registry::Store& store, std::string_view url,
                                               const ExportOptions& options, std::string token) {
  const registry::RegistryDoc doc = BERTH_TRY(store.Export());
  auto regs = BERTH_TRY(ConsulRegistrations(doc.services, options));
  ConsulOptions consul;
  consul.token = std::move(token);
  return RegisterWithConsul(url, regs, consul);
}

}  // namespace berth::app
