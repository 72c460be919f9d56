// Rendering `berth probe` results: the per-host table with remedies, and the JSON document
// (schema berth.probe/1, docs/probe.md). Every string that came from the network is passed
// through TerminalSafe (text) or JSON escaping. Streams through a sink; no I/O of its own.
#pragma once

#include <string_view>
#include <vector>

#include "base/sink.h"
#include "probe/probe_model.h"

namespace berth::probe {

inline constexpr std::string_view kProbeSchema = "berth.probe/1";

struct ProbeSummary {
  std::size_t targets = 0;
  std::size_t silent = 0;  // targets where no mapper answered
  double seconds = 0;
};

void RenderProbeText(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink);
void RenderProbeJson(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink);

}  // namespace berth::probe
