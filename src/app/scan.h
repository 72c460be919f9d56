// Use cases of `berth scan` and `berth pressure`: take a snapshot from a host source, audit
// it, add ephemeral-port pressure, match the listeners to the registry and record what was
// seen. Never prints; the caller renders the result. One thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "core/finding.h"
#include "core/host_source.h"
#include "core/pressure.h"
#include "core/socket_filter.h"
#include "registry/conformance.h"
#include "registry/store.h"
#include "registry/store_url.h"

namespace berth::app {

// The registry a scan may use: a store, or why there is none to use (the scan goes on
// without it and says so in a warning), or neither (no registry exists yet: silently none).
struct ScanRegistry {
  bool enabled = true;  // false: do not consult the registry at all (--no-registry)
  registry::Store* store = nullptr;
  std::optional<Error> unusable;
};

// Opens the registry for a scan: the one named explicitly, else the default one if it exists
// (a plain scan never creates it). An error becomes `unusable`, not a failure.
struct OpenedScanRegistry {
  std::unique_ptr<registry::Store> owned;
  ScanRegistry use;
};
OpenedScanRegistry OpenScanRegistry(const Result<registry::StoreLocation>& where);

// Whose groups speak for a scanned host. The default group always contains the machine berth
// runs on; another host (a collected Windows host) belongs only to the groups that list it.
enum class HostScope : std::uint8_t { kThisMachine, kOtherHost };

// A host collected elsewhere (a Windows host, app/windows.h): no agent reports it, so its
// recorded scan is also written as its report in the fleet view (docs/fleet.md), marked
// collected.
struct CollectedHost {
  std::int64_t collected = 0;  // unix seconds the collection was taken; 0 when it has no time
};

struct ScanRequest {
  HostQuery query;
  bool audit = true;      // false: `berth pressure` (no host audit, no registry)
  bool pressure = false;  // add the pressure analysis (needs every state: see Scan)
  // What to show: applied after the whole host is audited and recorded (SocketFilter).
  SocketFilter filter;
  HostScope scope = HostScope::kThisMachine;
  std::optional<CollectedHost> collected;  // set: write the host's fleet report too
};

struct ScanResult {
  HostSnapshot snap;
  std::vector<Finding> findings;  // most severe first, stable within a severity
  std::optional<PressureReport> pressure;
  // By socket index; empty when no registry was used.
  std::vector<std::optional<registry::ListenerMatch>> registry;
  // Why the registry could not be used (the scan itself is complete).
  std::optional<Error> registry_error;
};

// Takes the snapshot (with every socket state when pressure is wanted), audits it, and when
// `reg.store` is set matches and records the scan at clock's time. A registry that cannot be
// read or written is reported in `registry_error` instead of failing. Failure: the host
// source's.
[[nodiscard]] Result<ScanResult> Scan(const ScanRequest& request, HostSource& host,
                                      const ScanRegistry& reg, const Clock& clock);

// The rest of a scan whose snapshot is taken and audited (`r.snap`, `r.findings`): matches
// and records it when the registry is enabled (as Scan does), sorts the findings and applies
// `request.filter`. A collected Windows host is scanned so (app/windows.h).
ScanResult FinishScan(const ScanRequest& request, const ScanRegistry& reg, const Clock& clock,
                      ScanResult r);

// The registry half of a scan: matches the snapshot's listeners to this host's registered
// services, compares with the host's previous recorded scan (port-changed), and records this
// one at clock's time under the host's name ("HOST" or "HOST:NETNS"). When nothing is
// registered for the host, unregistered-listener findings are left out (they would say
// nothing), and so are those on ports the host's groups allow (as `berth check` does).
// `audit`: the host audit's findings; when services are registered for the host, its
// iana-mismatch ports that the registry registers, allows or reports as unregistered are
// dropped (the registry's findings say it once). Failure: the store's.
// With HostScope::kOtherHost, the default group's services and allowlist count only when the
// default group lists the host by name. With `collected`, the scan is written with the host's
// fleet report in one atomic step (Store::RecordScan and PutHostReport, as an agent writes
// them): its findings (the audit's, narrowed, then the registry's, most severe first), the
// listeners seen, the group that lists the host, and source kCollected.
[[nodiscard]] Result<registry::ScanMatch> MatchAndRecord(
    const HostSnapshot& snap, registry::Store& store, const Clock& clock,
    std::vector<Finding>& audit, HostScope scope = HostScope::kThisMachine,
    const std::optional<CollectedHost>& collected = std::nullopt);

// The part of MatchAndRecord that reads and writes nothing: `doc` is the registry, `previous`
// what the host's previous scan saw (the agent keeps both in memory, app/agent.h).
registry::ScanMatch MatchHost(const HostSnapshot& snap, const registry::RegistryDoc& doc,
                              const std::vector<registry::Observation>& previous,
                              std::vector<Finding>& audit,
                              HostScope scope = HostScope::kThisMachine);

// The name a host's observations are recorded under.
std::string ObservedHostName(const HostSnapshot& snap);

}  // namespace berth::app
