// Rendering `berth probe` results: the per-host table with remedies, and the JSON document
// (schema berth.probe/1, docs/probe.md). Every string that came from the network is passed
// through TerminalSafe (text) or JSON escaping. Streams through a sink; no I/O of its own.
// It lives in probe/ rather than emit/ because the model it renders is probe's own.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "probe/probe_model.h"

namespace berth::probe {

using ProbeSink = std::function<void(std::string_view)>;

inline constexpr std::string_view kProbeSchema = "berth.probe/1";

struct ProbeSummary {
  std::size_t targets = 0;
  std::size_t silent = 0;  // targets where no mapper answered
  double seconds = 0;
};

// True when a host has something to show: a mapper answered or failed other than silence.
bool Interesting(const HostReport& r);

void RenderProbeText(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const ProbeSink& sink);
void RenderProbeJson(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const ProbeSink& sink);

}  // namespace berth::probe
