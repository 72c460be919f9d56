#include "app/agent_report.h"

#include <algorithm>

#include <fmt/core.h>

#include "app/host_check.h"
#include "app/scan.h"
#include "core/audit.h"
#include "registry/allocator.h"
#include "registry/conformance.h"

namespace berth::app {
namespace {

// A PortSet holds all of `part`.
bool Covers(const PortSet& whole, const PortSet& part) { return whole.Intersect(part) == part; }

}  // namespace

Result<AgentRegistry> ReadAgentRegistry(registry::Store& store, std::string_view host) {
  AgentRegistry r;
  r.revision = BERTH_TRY(store.Revision());
  r.doc = BERTH_TRY(store.Export());
  if (auto last = BERTH_TRY(store.LastScan(host))) {
    r.previous = BERTH_TRY(store.ScanObservations(host, *last));
  }
  return r;
}

AgentScan JudgeScan(HostSnapshot snap, const AgentRegistry* reg,
                    const std::vector<registry::Observation>& previous, std::string_view host,
                    std::string_view group, std::int64_t scanned) {
  AgentScan out;
  snap.hostname = std::string(host);  // groups list the agent by the name it reports under
  out.report.host = std::string(host);
  out.report.group = std::string(group);
  out.report.ephemeral = snap.config.ephemeral;
  out.report.reserved = snap.config.reserved;
  out.report.scanned = scanned;
  out.warnings = snap.warnings;
  out.findings = AuditHost(snap);
  if (reg != nullptr) {
    out.registry_revision = reg->revision;
    registry::ScanMatch m = MatchHost(snap, reg->doc, previous, out.findings);
    out.observations = std::move(m.observations);
    out.findings.insert(out.findings.end(), m.findings.begin(), m.findings.end());
    // `berth check`'s findings about registered ports; its unregistered-listener is the
    // scan's (MatchHost), said once.
    const HostAgainstRegistry in = AgainstRegistry(snap, reg->doc);
    for (Finding& f : registry::CheckHost(in.snap, in.services, in.allow, in.registrable)) {
      if (f.id == FindingId::kRegisteredPortEphemeral || f.id == FindingId::kRegisteredNotListening) {
        out.findings.push_back(std::move(f));
      }
    }
  } else {
    // Without a registry, the listeners as a scan sees them (nothing matched).
    registry::ScanMatch m = registry::MatchScan(snap, {}, {});
    out.observations = std::move(m.observations);
  }
  for (registry::Observation& o : out.observations) o.host = std::string(host);
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  out.report.listeners = static_cast<std::uint32_t>(out.observations.size());
  out.report.digest = AgentDigest(out);
  return out;
}

AgentScan FailedScan(const Error& e, std::string_view host, std::string_view group,
                     std::int64_t scanned) {
  AgentScan out;
  out.report.host = std::string(host);
  out.report.group = std::string(group);
  out.report.scanned = scanned;
  out.report.error = e.message;
  out.report.digest = AgentDigest(out);
  return out;
}

std::string AgentDigest(const AgentScan& scan) {
  const registry::HostReport& r = scan.report;
  std::string text = fmt::format("group {}\nephemeral {}-{}\nreserved {}\nerror {}\n", r.group,
                                 r.ephemeral.low, r.ephemeral.high, r.reserved.Format(), r.error);
  std::vector<std::string> lines;
  for (const registry::Observation& o : scan.observations) {
    lines.push_back(fmt::format("listener {} {} {} pid {} service {}", ProtocolName(o.proto), o.port,
                                o.command, o.pid, o.service));
  }
  std::sort(lines.begin(), lines.end());
  for (const std::string& l : lines) text += l + '\n';
  for (const Finding& f : scan.findings) {
    std::string pids;
    for (int p : f.pids) pids += fmt::format("{},", p);
    // \x1f between fields: no field's text can run into the next one.
    text += fmt::format("finding {}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\n", FindingIdName(f.id),
                        SeverityName(f.severity), f.subject,
                        f.proto ? ProtocolName(*f.proto) : "", f.ports.Format(), pids, f.why, f.fix);
  }
  return fmt::format("fnv1a64:{:016x}", registry::NameHash(text));
}

Result<StoredReport> ReadStoredReport(registry::Store& store, std::string_view host) {
  for (const registry::FleetHost& h : BERTH_TRY(store.ListHosts())) {
    if (h.report.host == host) return StoredReport{h.report.digest, h.report.changed};
  }
  return StoredReport{};
}

std::string_view WriteReasonName(WriteReason r) {
  switch (r) {
    case WriteReason::kUnchanged: return "unchanged";
    case WriteReason::kChanged: return "changed";
    case WriteReason::kRefresh: return "refresh";
  }
  return "?";
}

Result<WriteReason> WriteAgentReport(registry::Store& store, const AgentScan& scan, bool refresh,
                                     StoredReport& stored) {
  const bool changed = scan.report.digest != stored.digest;
  if (!changed && !refresh) return WriteReason::kUnchanged;
  registry::HostReport report = scan.report;
  report.changed = changed ? report.scanned : stored.changed;
  auto written = store.Atomically([&]() -> Result<void> {
    BERTH_TRY(store.RecordScan(report.host, report.scanned, scan.observations));
    return store.PutHostReport(report, scan.findings);
  });
  if (!written) return std::unexpected(written.error());
  stored = StoredReport{report.digest, report.changed};
  return changed ? WriteReason::kChanged : WriteReason::kRefresh;
}

Result<bool> PublishHostRanges(registry::Store& store, std::string_view group, std::string_view host,
                               PortRange ephemeral, const PortSet& reserved) {
  bool wrote = false;
  auto done = store.Atomically([&]() -> Result<void> {
    wrote = false;
    auto stored = BERTH_TRY(store.GetGroup(group));
    if (!stored && group != registry::kDefaultGroup) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("group '{}' is not in the registry at {}: this host's ranges cannot "
                              "be published into it",
                              group, store.Location()),
                  {{Remedy::kCreateGroup, std::string(group)}});
    }
    registry::Group g;
    if (stored) g = std::move(*stored); else g.name = std::string(group);
    const PortSet eph{ephemeral};
    const bool listed = std::find(g.hosts.begin(), g.hosts.end(), host) != g.hosts.end();
    if (listed && Covers(g.ephemeral, eph) && Covers(g.reserved, reserved)) return {};
    if (!listed) g.hosts.emplace_back(host);
    g.ephemeral.Add(eph);
    g.reserved.Add(reserved);
    BERTH_TRY(store.PutGroup(g));
    wrote = true;
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return wrote;
}

PortSet PortsToReserve(const registry::RegistryDoc& doc, std::string_view host, std::string_view group) {
  std::vector<Service> services = registry::ServicesOfHost(doc.services, doc.groups, host);
  for (const Service& s : doc.services) {
    if (s.group == group) services.push_back(s);
  }
  return registry::RegisteredPorts(services).all();
}

}  // namespace berth::app
