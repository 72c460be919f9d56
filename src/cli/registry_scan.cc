// The registry side of `berth scan` (docs/registry.md, "berth scan and the registry").
#include <ctime>

#include <fmt/core.h>

#include "cli/registry_common.h"
#include "emit/scan_render.h"
#include "registry/conformance.h"
#include "registry/db_path.h"

namespace berth::cli {
namespace {

Result<registry::ScanMatch> MatchAndRecord(const HostSnapshot& snap, const std::string& db) {
  auto store = BERTH_TRY(OpenRegistry(db, registry::OpenMode::kWrite));
  const std::string host = snap.netns.empty() ? snap.hostname : snap.hostname + ":" + snap.netns;
  auto doc = BERTH_TRY(store->Export());
  const auto services = registry::ServicesOfHost(doc.services, doc.groups, snap.hostname);
  std::vector<registry::Observation> previous;
  if (auto last = BERTH_TRY(store->LastScan(host))) {
    previous = BERTH_TRY(store->ScanObservations(host, *last));
  }
  registry::ScanMatch m = registry::MatchScan(snap, services, previous);
  if (services.empty()) {
    // Nothing is registered for this host yet: every listener would be "unregistered",
    // which says nothing. Keep the statuses and the history, drop that noise.
    std::erase_if(m.findings, [](const Finding& f) { return f.id == "unregistered-listener"; });
  }
  BERTH_TRY(store->RecordScan(host, static_cast<std::int64_t>(std::time(nullptr)), m.observations));
  return m;
}

}  // namespace

void MatchScanWithRegistry(HostSnapshot& snap, const std::string& db,
                           std::vector<Finding>& findings,
                           std::vector<std::optional<RegistryMark>>& marks) {
  auto m = MatchAndRecord(snap, db);
  if (!m) {
    snap.warnings.push_back(fmt::format("registry not used ({}); the scan itself is complete. "
                                        "--no-registry skips the registry",
                                        m.error().message));
    return;
  }
  marks.assign(snap.sockets.size(), std::nullopt);
  for (std::size_t i = 0; i < m->sockets.size() && i < marks.size(); ++i) {
    if (!m->sockets[i]) continue;
    marks[i] = RegistryMark{std::string(registry::RegStatusName(m->sockets[i]->status)),
                            m->sockets[i]->service};
  }
  findings.insert(findings.end(), m->findings.begin(), m->findings.end());
}

}  // namespace berth::cli
