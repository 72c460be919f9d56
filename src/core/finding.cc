#include "core/finding.h"

#include <fmt/core.h>

namespace berth {

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "error";
}

Result<Severity> ParseSeverity(std::string_view text) {
  if (text == "info") return Severity::kInfo;
  if (text == "warning") return Severity::kWarning;
  if (text == "error") return Severity::kError;
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown severity '{}': use info, warning or error", text));
}

}  // namespace berth
