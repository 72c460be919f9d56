#include "app/host_check.h"

#include <algorithm>

#include <fmt/core.h>

#include "base/file.h"
#include "host/reserved_ports.h"
#include "registry/conformance.h"

namespace berth::app {

HostAgainstRegistry AgainstRegistry(HostSnapshot snap, const registry::RegistryDoc& doc) {
  HostAgainstRegistry in;
  in.snap = std::move(snap);
  in.services = registry::ServicesOfHost(doc.services, doc.groups, in.snap.hostname);
  for (const auto& g : doc.groups) {
    if (g.name == registry::kDefaultGroup ||
        std::find(g.hosts.begin(), g.hosts.end(), in.snap.hostname) != g.hosts.end()) {
      in.allow.Add(g.allow);
    }
    if (g.name == registry::kDefaultGroup) in.registrable = g.range;
  }
  return in;
}

Result<HostAgainstRegistry> LoadHostAgainstRegistry(registry::Store& store, HostSource& host,
                                                    bool owners) {
  auto doc = BERTH_TRY(store.Export());
  HostQuery query;
  query.resolve_owners = owners;
  return AgainstRegistry(BERTH_TRY(host.Take(query)), doc);
}

Result<CheckReport> CheckHost(registry::Store& store, HostSource& host, const PortSet& extra_allow,
                              bool owners) {
  HostAgainstRegistry in = BERTH_TRY(LoadHostAgainstRegistry(store, host, owners));
  in.allow.Add(extra_allow);
  CheckReport r;
  r.findings = registry::CheckHost(in.snap, in.services, in.allow, in.registrable);
  r.services = in.services.size();
  r.warnings = std::move(in.snap.warnings);
  return r;
}

Result<RangeReport> CheckRange(registry::Store& store, HostSource& host, int low, int high) {
  if (low < 1 || high > 65535 || low > high) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("range {} {}: give LOW HIGH with 1 <= LOW <= HIGH <= 65535", low, high));
  }
  HostAgainstRegistry in = BERTH_TRY(LoadHostAgainstRegistry(store, host, true));
  const PortRange proposed{static_cast<Port>(low), static_cast<Port>(high)};
  RangeReport r;
  r.findings = registry::CheckRange(proposed, in.snap, in.services, in.registrable);
  r.now = in.snap.config.ephemeral;
  r.warnings = std::move(in.snap.warnings);
  return r;
}

Result<ReservePlan> PlanReserve(registry::Store& store, std::string_view hostname) {
  const registry::RegistryDoc doc = BERTH_TRY(store.Export());
  ReservePlan plan;
  plan.current = BERTH_TRY(ReadReservedPorts());
  const auto services = registry::ServicesOfHost(doc.services, doc.groups, hostname);
  plan.merged = registry::MergeReserved(plan.current, services);
  plan.file = registry::SysctlFile(plan.merged);
  return plan;
}

Result<void> WriteReserveFile(const ReservePlan& plan, const std::string& path) {
  return WriteFileAtomic(path, plan.file);
}

Result<ReserveApplied> SetReservedNow(const ReservePlan& plan) {
  if (plan.merged == plan.current) return ReserveApplied{};
  return ReserveApplied{true, BERTH_TRY(SetReservedPorts(plan.merged))};
}

}  // namespace berth::app
