// The registry's records beyond core's Service: groups (hosts sharing a port space),
// families (named port blocks), observations (what scans saw) and the whole-registry
// document that berth.toml, plan and apply work on. Plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/classify.h"
#include "core/finding.h"
#include "core/port.h"
#include "core/service.h"

namespace berth::registry {

inline constexpr std::string_view kDefaultGroup = "default";
inline constexpr PortRange kUserRange = kIanaUserRange;

// A set of hosts that share one port space: a port claimed in the group is claimed on every
// host of it, so it must be outside the ephemeral range of each. `ephemeral` and `reserved`
// are the unions over the hosts that are not this one; this host's live values are added
// when it belongs to the group (the default group always contains this host).
struct Group {
  std::string name;
  std::string description;
  std::vector<std::string> hosts;  // host names; empty for the default group = this host
  PortSet ephemeral;               // union of the other hosts' ephemeral ranges
  PortSet reserved;                // union of the other hosts' ip_local_reserved_ports
  PortRange range = kUserRange;    // where automatic placement looks
  PortSet allow;                   // listener ports `berth check` accepts unregistered
  friend bool operator==(const Group&, const Group&) = default;
};

// A named port block: the first instance takes `base`, the next the next free port.
struct Family {
  std::string name;
  std::string description;
  Port base = 0;
  std::uint32_t size = 100;  // block is base .. base+size-1 (clipped at 65535)
  PortSet skip;              // ports inside the block never handed out
  friend bool operator==(const Family&, const Family&) = default;
};

// A service as the registry stores it: the core record plus why its port was chosen and
// the registry revision of its last change.
struct ServiceRecord {
  Service service;
  std::string reason;
  std::int64_t revision = 0;
};

// One listener seen by one scan.
struct Observation {
  std::string host;
  std::string service;  // "" when no registered service matched
  Protocol proto = Protocol::kTcp;
  Port port = 0;
  int pid = 0;
  std::string command;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
};

// The fleet: what each host's `berth agent` publishes (docs/fleet.md). The presence lives as
// long as the agent's lease; the report and the findings stay when the agent goes, so a
// down host still shows what it last said.
struct HostPresence {
  std::string host;
  std::int64_t lease = 0;     // the store's lease id
  std::int64_t ttl = 0;       // seconds, as granted
  std::int64_t interval = 0;  // seconds between the agent's scans
  std::int64_t refresh = 0;   // the agent rewrites even an unchanged report every N scans; 0 never
  std::int64_t started = 0;   // unix seconds the agent started
  std::string version;        // the agent's berth version
  friend bool operator==(const HostPresence&, const HostPresence&) = default;
};

// Who wrote a host's report: its agent, or `berth scan` of a host collected elsewhere (a
// Windows host, docs/windows.md), which has no agent and no lease: its report is a snapshot
// of the collection, shown as such (docs/serve.md, "Host state").
enum class ReportSource : std::uint8_t { kAgent, kCollected };
std::string_view ReportSourceName(ReportSource source);  // "agent" / "collected"
// "agent" / "collected"; nullopt for anything else.
std::optional<ReportSource> ParseReportSource(std::string_view text);

struct HostReport {
  std::string host;
  std::string group;          // the group the agent serves ("default" when not told)
  PortRange ephemeral;        // the host's ip_local_port_range
  PortSet reserved;           // the host's ip_local_reserved_ports
  std::int64_t scanned = 0;   // unix seconds of the scan this report describes
  std::int64_t changed = 0;   // unix seconds its listeners or findings last changed
  std::string digest;         // hash of the listeners, findings and ranges written
  std::uint32_t listeners = 0;
  std::string error;          // why the last scan failed, "" when it did not
  ReportSource source = ReportSource::kAgent;
  std::int64_t collected = 0;  // kCollected: unix seconds the host was collected (0: unknown)
  friend bool operator==(const HostReport&, const HostReport&) = default;
};

// One host as the fleet view sees it.
struct FleetHost {
  HostReport report;                    // report.host is always set
  std::optional<HostPresence> presence; // absent: no live agent (its lease expired or was revoked)
};

// A whole registry (minus observations): what berth.toml describes.
struct RegistryDoc {
  std::vector<Group> groups;      // sorted by name
  std::vector<Family> families;   // sorted by name
  std::vector<Service> services;  // sorted by name
};

bool SameService(const Service& a, const Service& b);  // every field but created/updated

// The record a Replace (apply, import, store copy) writes for `s`, given its record before
// (`old`, null when new): an unchanged service keeps its reason, revision and times; a changed
// one keeps its creation time; the times still unset are `now`.
ServiceRecord ReplacedRecord(const Service& s, std::string_view reason, std::int64_t revision,
                             const ServiceRecord* old, std::int64_t now);

}  // namespace berth::registry
