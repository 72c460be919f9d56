// The registry side of `berth scan` (docs/registry.md, "berth scan and the registry").
#include <sys/stat.h>

#include <ctime>

#include <fmt/core.h>

#include "cli/registry_common.h"
#include "emit/scan_render.h"
#include "registry/conformance.h"
#include "registry/db_path.h"

namespace berth::cli {
namespace {

// nullopt: no registry to use (the default one does not exist yet and none was named).
Result<std::optional<registry::ScanMatch>> MatchAndRecord(const HostSnapshot& snap,
                                                          const std::string& db) {
  // A plain scan is an audit: it never creates the registry. It uses the one named by
  // --db or BERTH_DB, or the default one once a write command (berth assign, apply...)
  // has created it.
  const std::string path = BERTH_TRY(registry::ResolveDbPath(db));
  struct stat st {};
  if (!registry::DbPathExplicit(db) && ::stat(path.c_str(), &st) != 0) {
    return std::optional<registry::ScanMatch>{};
  }
  auto store = BERTH_TRY(registry::SqliteStore::Open(path, registry::OpenMode::kWrite));
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
    std::erase_if(m.findings, [](const Finding& f) { return f.id == FindingId::kUnregisteredListener; });
  }
  BERTH_TRY(store->RecordScan(host, static_cast<std::int64_t>(std::time(nullptr)), m.observations));
  return std::optional<registry::ScanMatch>{std::move(m)};
}

}  // namespace

void MatchScanWithRegistry(HostSnapshot& snap, const std::string& db,
                           std::vector<Finding>& findings,
                           std::vector<std::optional<RegistryMark>>& marks) {
  auto found = MatchAndRecord(snap, db);
  if (found && !*found) return;
  auto m = found ? Result<registry::ScanMatch>(std::move(**found))
                 : Result<registry::ScanMatch>(std::unexpected(found.error()));
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
