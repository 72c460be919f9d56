// A finding: something wrong (or worth knowing) about a host's ports, with a one-line why
// and a concrete fix. Produced by the audit and the pressure analysis; rendered by src/emit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding_id.h"
#include "core/port.h"

namespace berth {

enum class Severity : std::uint8_t { kInfo, kWarning, kError };

std::string_view SeverityName(Severity s);  // "info" / "warning" / "error"
// Accepts info, warning, error. Failure: kInvalidArgument listing the choices.
Result<Severity> ParseSeverity(std::string_view text);

struct Finding {
  FindingId id{};       // FindingIdName(id) is its stable name, documented in docs/findings.md
  Severity severity = Severity::kWarning;
  std::string subject;  // "sshd (pid 812)", "host"
  std::optional<Protocol> proto;
  PortSet ports;        // the ports concerned, if any
  std::vector<int> pids;
  std::string why;      // one line
  std::string fix;      // a command or config lines; may span lines
};

}  // namespace berth
