// Rendering a scan: the aligned, process-grouped text table (colour optional) and the
// JSON document described in docs/scan-json.md. Both stream through a sink in chunks,
// so memory stays flat however many sockets there are (the socket table is measured in one
// pass and printed in a second through emit/table.h; findings come from findings_render.h).
// No I/O of their own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/sink.h"
#include "base/text.h"
#include "core/finding.h"
#include "core/pressure.h"
#include "core/socket.h"
#include "registry/conformance.h"

namespace berth {

// A socket's standing in the registry (registered, unregistered, drifted: docs/registry.md),
// filled by `berth scan` when a registry is in use.
using RegistryMark = registry::ListenerMatch;

struct ScanView {
  const HostSnapshot* snap = nullptr;
  const std::vector<Finding>* findings = nullptr;
  const PressureReport* pressure = nullptr;  // null: no pressure section
  bool all_states = false;  // false: only servers (TCP LISTEN, bound UDP) are rows
  bool sockets = true;      // false: no socket table (the pressure command)
  // By socket index; null when no registry was consulted (then no REG column / field).
  const std::vector<std::optional<RegistryMark>>* registry = nullptr;
  std::string_view command = "scan";  // the header names it: "berth scan", "berth pressure"
  // false (ss's -H): the socket rows alone, for scripts: no host line, notes, column header
  // or findings.
  bool header = true;
  // The terminal's width: the findings' why lines are wrapped to it (fix lines never are,
  // so that a command copies whole). 0: no wrapping (not a terminal).
  std::size_t width = 0;
};

void RenderScanText(const ScanView& view, bool color, const Sink& sink);
void RenderScanJson(const ScanView& view, const Sink& sink);

// /2: port sets are arrays (findings' "ports" [22, 80]; "reserved_ports" [[low, high], ...]).
inline constexpr std::string_view kScanSchema = "berth.scan/2";

}  // namespace berth
