#include "app/scan.h"

#include <algorithm>

#include "app/agent_report.h"
#include "core/audit.h"

namespace berth::app {
namespace {

void SortBySeverity(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
}

}  // namespace

OpenedScanRegistry OpenScanRegistry(const Result<registry::StoreLocation>& where) {
  OpenedScanRegistry out;
  if (!where) {
    out.use.unusable = where.error();
    return out;
  }
  auto store = registry::OpenStoreIfPresent(*where);
  if (!store) {
    out.use.unusable = store.error();
    return out;
  }
  out.owned = std::move(*store);
  out.use.store = out.owned.get();
  return out;
}

std::string ObservedHostName(const HostSnapshot& snap) {
  return snap.netns.empty() ? snap.hostname : snap.hostname + ":" + snap.netns;
}

registry::ScanMatch MatchHost(const HostSnapshot& snap, const registry::RegistryDoc& doc,
                              const std::vector<registry::Observation>& previous,
                              std::vector<Finding>& audit, HostScope scope) {
  const auto lists_host = [&](const registry::Group& g) {
    return std::find(g.hosts.begin(), g.hosts.end(), snap.hostname) != g.hosts.end();
  };
  auto services = registry::ServicesOfHost(doc.services, doc.groups, snap.hostname);
  bool default_speaks = scope == HostScope::kThisMachine;
  for (const registry::Group& g : doc.groups) {
    if (g.name == registry::kDefaultGroup && lists_host(g)) default_speaks = true;
  }
  if (!default_speaks) {
    std::erase_if(services, [](const Service& s) { return s.group == registry::kDefaultGroup; });
  }
  // The default group's range (where `berth adopt` registers) and the allowlists of the
  // host's groups (listeners accepted unregistered, as `berth check` accepts them).
  PortRange registrable = registry::kUserRange;
  PortSet allow;
  for (const registry::Group& g : doc.groups) {
    if (g.name == registry::kDefaultGroup) registrable = g.range;
    if ((g.name == registry::kDefaultGroup && default_speaks) || lists_host(g)) allow.Add(g.allow);
  }
  registry::ScanMatch m = registry::MatchScan(snap, services, previous, registrable, allow);
  std::erase_if(m.findings, [&](const Finding& f) {
    return f.id == FindingId::kUnregisteredListener && services.empty();
  });
  if (!services.empty()) {
    // Once the registry speaks for this host, a port it registers or allows is documented,
    // and one it does not is an unregistered-listener whose fix already handles IANA: the
    // audit's iana-mismatch (or conventional-port) would only say the same thing again.
    const auto narrowed = [](const Finding& f) {
      return f.id == FindingId::kIanaMismatch || f.id == FindingId::kConventionalPort;
    };
    const registry::PortsByProto reg = registry::RegisteredPorts(services);
    for (Finding& f : audit) {
      if (!narrowed(f) || !f.proto) continue;
      f.ports.Subtract(*f.proto == Protocol::kTcp ? reg.tcp : reg.udp);
      f.ports.Subtract(allow);
      for (const Finding& u : m.findings) {
        if (u.id == FindingId::kUnregisteredListener && u.proto == f.proto) f.ports.Subtract(u.ports);
      }
    }
    std::erase_if(audit, [&](const Finding& f) { return narrowed(f) && f.ports.empty(); });
  }
  return m;
}

namespace {

// What an agent would write for the host, for a host collected elsewhere: its report (the
// first group, by name, that lists it) with the scan's findings and listeners.
AgentScan CollectedReport(const HostSnapshot& snap, const std::string& host,
                          const registry::RegistryDoc& doc, const registry::ScanMatch& m,
                          const std::vector<Finding>& audit, const CollectedHost& collected,
                          std::int64_t now) {
  AgentScan out;
  registry::HostReport& r = out.report;
  r.host = host;
  for (const registry::Group& g : doc.groups) {
    if (std::find(g.hosts.begin(), g.hosts.end(), snap.hostname) != g.hosts.end()) {
      r.group = g.name;
      break;
    }
  }
  r.ephemeral = snap.config.ephemeral;
  r.reserved = snap.config.reserved;
  r.scanned = now;
  r.source = registry::ReportSource::kCollected;
  r.collected = collected.collected;
  out.findings = audit;
  out.findings.insert(out.findings.end(), m.findings.begin(), m.findings.end());
  SortBySeverity(out.findings);
  out.observations = m.observations;
  for (registry::Observation& o : out.observations) o.host = host;
  r.listeners = static_cast<std::uint32_t>(out.observations.size());
  r.digest = AgentDigest(out);
  return out;
}

}  // namespace

Result<registry::ScanMatch> MatchAndRecord(const HostSnapshot& snap, registry::Store& store,
                                           const Clock& clock, std::vector<Finding>& audit,
                                           HostScope scope,
                                           const std::optional<CollectedHost>& collected) {
  const std::string host = ObservedHostName(snap);
  const registry::RegistryDoc doc = BERTH_TRY(store.Export());
  std::vector<registry::Observation> previous;
  if (auto last = BERTH_TRY(store.LastScan(host))) {
    previous = BERTH_TRY(store.ScanObservations(host, *last));
  }
  std::vector<Finding> narrowed = audit;  // the audit is left as it was when recording fails
  registry::ScanMatch m = MatchHost(snap, doc, previous, narrowed, scope);
  if (collected) {
    // No agent writes this host's report: the scan does, as the agent would (the report's
    // change time kept while nothing in it changed).
    const AgentScan report =
        CollectedReport(snap, host, doc, m, narrowed, *collected, clock.UnixSeconds());
    StoredReport stored = BERTH_TRY(ReadStoredReport(store, host));
    BERTH_TRY(WriteAgentReport(store, report, /*refresh=*/true, stored));
  } else {
    BERTH_TRY(store.RecordScan(host, clock.UnixSeconds(), m.observations));
  }
  audit = std::move(narrowed);
  return m;
}

namespace {

// The filter's view of a finished scan: matching sockets, their registry marks, the findings
// about them. The audit and the recorded observations saw the whole host.
void Narrow(const ScanRequest& request, ScanResult& r) {
  if (!request.filter.active()) return;
  const std::vector<std::size_t> kept = berth::Narrow(request.filter, r.snap);
  if (!r.registry.empty()) {
    std::vector<std::optional<registry::ListenerMatch>> marks;
    marks.reserve(kept.size());
    for (std::size_t i : kept) marks.push_back(i < r.registry.size() ? std::move(r.registry[i]) : std::nullopt);
    r.registry = std::move(marks);
  }
  r.findings = FilterFindings(request.filter, r.snap, std::move(r.findings));
}

}  // namespace

Result<ScanResult> Scan(const ScanRequest& request, HostSource& host, const ScanRegistry& reg,
                        const Clock& clock) {
  HostQuery query = request.query;
  if (request.pressure) query.all_states = true;  // pressure needs the connected sockets too
  ScanResult r;
  r.snap = BERTH_TRY(host.Take(query));
  if (request.audit) r.findings = AuditHost(r.snap);
  if (request.pressure) {
    r.pressure = AnalyzePressure(r.snap);
    r.findings.insert(r.findings.begin(), r.pressure->findings.begin(), r.pressure->findings.end());
    SortBySeverity(r.findings);
  }
  return FinishScan(request, reg, clock, std::move(r));
}

ScanResult FinishScan(const ScanRequest& request, const ScanRegistry& reg, const Clock& clock,
                      ScanResult r) {
  if (!request.audit || !reg.enabled) {
    Narrow(request, r);
    return r;
  }
  auto matched = reg.unusable ? Result<registry::ScanMatch>(std::unexpected(*reg.unusable))
                 : reg.store  ? MatchAndRecord(r.snap, *reg.store, clock, r.findings, request.scope,
                                              request.collected)
                              : Result<registry::ScanMatch>(registry::ScanMatch{});
  if (!matched) {
    r.registry_error = matched.error();
  } else if (reg.store != nullptr) {
    r.registry.assign(r.snap.sockets.size(), std::nullopt);
    for (std::size_t i = 0; i < matched->sockets.size() && i < r.registry.size(); ++i) {
      r.registry[i] = std::move(matched->sockets[i]);
    }
    r.findings.insert(r.findings.end(), matched->findings.begin(), matched->findings.end());
  }
  SortBySeverity(r.findings);
  Narrow(request, r);
  return r;
}

}  // namespace berth::app
