// Use cases of `berth probe`: ask remote port mappers what they hand out (targets expanded,
// local broadcast addresses kept out unless asked for, one engine for every conversation),
// propose a static port for each dynamic service from the registry, and record what was found
// as observations of each host. Never prints. One thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "core/port.h"
#include "emit/probe_render.h"  // ProbeSummary
#include "probe/probe_model.h"
#include "registry/allocator.h"
#include "registry/store.h"

namespace berth::app {

struct ProbeRequest {
  std::vector<std::string> targets;   // names, addresses, CIDR blocks
  std::string list_file;              // more targets from a file ("" = none)
  bool rpc = true, mssql = true, msrpc = true;
  int timeout_ms = 1000;
  // Silent peers wait as long as the round trips seen say, timeout_ms at most
  // (probe::EngineOptions::adaptive); false: every wait is timeout_ms.
  bool adaptive_timeouts = true;
  int udp_retries = 1;
  double rate = 1000;                 // new packets per second
  std::size_t concurrency = 512;
  std::size_t max_targets = 0;        // refuse more target addresses than this
  PortSet ephemeral;                  // ports that count as dynamic on the targets
  std::vector<std::string> instances; // SQL Server instances to ask for (empty: all)
  std::vector<std::string> broadcasts;  // local broadcast addresses to send SSRP to
  std::uint32_t max_ents = 500;
  std::size_t max_calls = 1000;
  // Progress of a run that lasts over a second: (exchanges ended, exchanges queued), a few
  // times a second (probe::EngineOptions::on_progress). Empty: none.
  std::function<void(std::size_t ended, std::size_t total)> on_progress;
};

struct ProbeRun {
  std::vector<probe::HostReport> hosts;  // targets in order, then each broadcast and its responders
  probe::ProbeSummary summary;           // targets, silent hosts, timing (seconds left to the caller)
  bool any_dynamic = false;
  // Broadcast addresses met inside CIDR blocks: skipped, with where they were met.
  struct Skipped {
    std::string address, block, interface;
  };
  std::vector<Skipped> skipped_broadcasts;
};

// Failure: kInvalidArgument for a bad target, a broadcast address named as a target (the
// message says to use the broadcast option), a broadcast that is not a local one; the engine's.
[[nodiscard]] Result<ProbeRun> RunProbe(const ProbeRequest& request);

// Fills `static_port` of each dynamic service that can be pinned on its own: the port the
// registry holds for its name, or the one the allocator proposes now (never claimed).
// `target_ephemeral` is kept out of proposals. Reads the store only.
[[nodiscard]] Result<void> ProposeStaticPorts(std::vector<probe::HostReport>& hosts,
                                              registry::Store& store, registry::HostView host,
                                              const PortSet& target_ephemeral);
// True when some service of `hosts` would get a static port (so the registry is worth opening).
bool WantsStaticPorts(const std::vector<probe::HostReport>& hosts);

// Records each host's TCP/UDP services as observations of that host at clock's time. Returns
// how many were recorded.
[[nodiscard]] Result<std::size_t> RecordProbe(const std::vector<probe::HostReport>& hosts,
                                              registry::Store& store, const Clock& clock);

}  // namespace berth::app
