// What `berth agent` computes and writes, as functions (docs/fleet.md): one scan of the host
// judged against a registry already read (no I/O: the agent's scan loop never waits on the
// store), its digest, writing a report only when it changed, and publishing the host's
// ranges into its group. app/agent.h runs them on its threads; `--once` runs them in turn.
// Thread-compatible: each call works on its own arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/socket.h"
#include "registry/model.h"
#include "registry/store.h"

namespace berth::app {

// The registry as the agent last read it.
struct AgentRegistry {
  registry::RegistryDoc doc;
  std::int64_t revision = 0;
  std::vector<registry::Observation> previous;  // what the host's last recorded scan saw
};

// One scan of the host.
struct AgentScan {
  registry::HostReport report;  // digest, ranges, listener count, scanned; `changed` is the writer's
  std::vector<Finding> findings;                    // most severe first
  std::vector<registry::Observation> observations;  // one per (proto, port, command)
  std::vector<std::string> warnings;                // the snapshot's (a partial scan...)
  std::optional<std::int64_t> registry_revision;    // nullopt: judged without a registry
};

// Reads what a scan is judged against: the registry, its revision, and what `host`'s last
// recorded scan saw. Failure: the store's.
[[nodiscard]] Result<AgentRegistry> ReadAgentRegistry(registry::Store& store, std::string_view host);

// Judges `snap` (taken with owners) as `host` of `group`: the audit, the registry match (as
// `berth scan`: unregistered, drifted, and port-changed against `previous`, what the previous
// scan saw) and `berth check`'s registered-port findings (ephemeral, not listening); without
// `reg`, the audit alone. `scanned`: unix seconds.
AgentScan JudgeScan(HostSnapshot snap, const AgentRegistry* reg,
                    const std::vector<registry::Observation>& previous, std::string_view host,
                    std::string_view group, std::int64_t scanned);

// A scan that could not be taken: a report saying why (`report.error`), no findings.
AgentScan FailedScan(const Error& e, std::string_view host, std::string_view group,
                     std::int64_t scanned);

// "fnv1a64:" + 16 hex digits over the listeners, findings, ranges, group and scan error:
// equal digests mean nothing a reader of the report would see has changed (times excluded).
std::string AgentDigest(const AgentScan& scan);

// What the store holds of this host's report (digest "" when none).
struct StoredReport {
  std::string digest;
  std::int64_t changed = 0;
};
// Failure: the store's.
[[nodiscard]] Result<StoredReport> ReadStoredReport(registry::Store& store, std::string_view host);

enum class WriteReason : std::uint8_t { kUnchanged, kChanged, kRefresh };
std::string_view WriteReasonName(WriteReason r);  // "unchanged" / "changed" / "refresh"

// Writes the scan's observations (Store::RecordScan) and its report with findings
// (PutHostReport) in one atomic step, when its digest differs from `stored` or `refresh`;
// else writes nothing (kUnchanged). `stored` is updated on success. Failure: the store's
// (nothing written).
[[nodiscard]] Result<WriteReason> WriteAgentReport(registry::Store& store, const AgentScan& scan,
                                                   bool refresh, StoredReport& stored);

// Adds `host`, its ephemeral range and its reserved ports to `group` (union: nothing is ever
// removed) so that allocators on every machine keep them out; writes only when the group
// does not already cover them. Returns whether it wrote. Failure: kNotFound for a group
// other than "default" that does not exist (hint: create it); the store's.
[[nodiscard]] Result<bool> PublishHostRanges(registry::Store& store, std::string_view group,
                                             std::string_view host, PortRange ephemeral,
                                             const PortSet& reserved);

// The ports `--reserve` keeps in ip_local_reserved_ports: those registered in the groups
// `host` belongs to and in `group`.
PortSet PortsToReserve(const registry::RegistryDoc& doc, std::string_view host, std::string_view group);

}  // namespace berth::app
