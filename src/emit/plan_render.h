// Rendering the changes of `berth plan` and `berth apply`: text ("+ service web: 8080/tcp"
// lines and a summary) or JSON (schema berth.plan/1, docs/registry.md). Pure: output goes to
// the Sink in one call. Thread-compatible.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/sink.h"
#include "registry/plan.h"

namespace berth {

inline constexpr std::string_view kPlanSchema = "berth.plan/1";

// What the command did with the changes, for JSON's "status" and the text's last line.
enum class PlanOutcome : std::uint8_t {
  kPlanned,  // plan: nothing written
  kApplied,  // apply/import: written
  kRefused,  // apply without --prune that would remove entries: nothing written
};

// JSON: {"changes": [{"detail": "...", "kind": "add"|"change"|"remove", "name": "...",
// "what": "group"|"family"|"service"}...], "schema": "berth.plan/1", "status":
// "planned"|"applied"|"refused", "warnings": ["..."]}. Text: registry::FormatChanges.
void RenderPlanJson(std::span<const registry::Change> changes,
                    const std::vector<std::string>& warnings, PlanOutcome outcome,
                    const Sink& sink);

}  // namespace berth
