// `berth agent --json` (docs/fleet.md, schema berth.agent/1): one document per scan, the host's
// report as the agent writes it to the store, with its listeners and findings. With --once
// the document also says what was written. Pure: output goes to the Sink. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/sink.h"
#include "core/finding.h"
#include "emit/json_writer.h"
#include "registry/model.h"

namespace berth {

inline constexpr std::string_view kAgentSchema = "berth.agent/1";

struct AgentReportView {
  const registry::HostReport& report;
  const std::vector<Finding>& findings;
  const std::vector<registry::Observation>& listeners;
  const std::vector<std::string>& warnings;
  std::optional<std::int64_t> registry_revision;  // nullopt: judged without the registry
  // --once: the store's location, what was written ("changed", "unchanged", "refresh") and
  // the error that stopped it; none of the three in a running agent's documents.
  std::optional<std::string> store;
  std::optional<std::string> written;
  std::optional<Error> error;
  std::optional<PortSet> reserved_added;  // --once --reserve
};

// The document and a newline: pretty for --once, one compact line per scan otherwise.
void RenderAgentJson(const AgentReportView& v, JsonLayout layout, const Sink& sink);

}  // namespace berth
