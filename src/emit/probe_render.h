// Rendering `berth probe` results: the per-host table with remedies, and the JSON document
// (schema berth.probe/1, docs/probe.md). Every string that came from the network is passed
// through TerminalSafe (text) or JSON escaping. Streams through a sink; no I/O of its own.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/sink.h"
#include "probe/probe_model.h"

namespace berth::probe {

inline constexpr std::string_view kProbeSchema = "berth.probe/1";

// How long the run waited for silence (probe::Engine::Stats, docs/probe.md "Timeouts").
struct ProbeTiming {
  bool adaptive = true;
  int timeout_ms = 0;               // --timeout: the longest any step waits
  std::size_t timeouts = 0;         // exchanges that ended without an answer
  std::size_t shortened = 0;        // ... of them after a wait shorter than timeout_ms
  int shortest_wait_ms = 0, longest_wait_ms = 0;  // the waits that ran out, before jitter
  std::size_t rtt_samples = 0;      // round trips measured
  double srtt_ms = 0, rttvar_ms = 0, max_rtt_ms = 0;
};

struct ProbeSummary {
  std::size_t targets = 0;
  std::size_t silent = 0;  // targets where no mapper answered
  double seconds = 0;
  std::optional<ProbeTiming> timing;  // JSON "timing" when set
};

void RenderProbeText(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink);
void RenderProbeJson(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink);

}  // namespace berth::probe
