// Findings rendered once for each form: as JSON (one object writer, used by the scan document
// and by {"findings": [...]}) and as text. There are two text layouts, both here: the compact
// one of `berth check` / `berth range` (RenderFindingsText) and the section at the end of
// `berth scan` (RenderFindingsReport, coloured, why and fix on lines of their own). They stay
// two because each is a documented, scripted-against output: sharing one would change one of
// them. Every free-text field (subject, why, fix) passes through TerminalSafe in text; a fix's
// line breaks are kept. Pure: output goes to the Sink. Thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/sink.h"
#include "core/finding.h"
#include "emit/json_writer.h"

namespace berth {

enum class JsonKeyOrder : std::uint8_t {
  kDocumented,  // the order of docs/scan-json.md: id, severity, subject, proto, ports, pids, why, fix
  kSorted,      // alphabetical: what nlohmann::json wrote for berth check/range --json
};

// Writes `f` as one JSON object at the writer's position (where a value may go):
// id, severity, subject, proto (null when none), ports ([22, 80]), pids, why, fix.
void WriteFindingJson(JsonWriter& j, const Finding& f,
                      JsonKeyOrder order = JsonKeyOrder::kDocumented);

// `berth check` and `berth range`: {"findings": [...], "schema": "berth.findings/1"}.
inline constexpr std::string_view kFindingsSchema = "berth.findings/1";

// {"findings": [...], "schema"} then a newline: pretty, alphabetical keys, in the layout of
// nlohmann's dump(2); ports as an array of numbers.
void RenderFindingsJson(const std::vector<Finding>& findings, const Sink& sink);

// cli's PrintFindings(json=false): "TITLE: no findings", or "TITLE: N finding(s)" then per
// finding "SEVERITY ID SUBJECT: WHY" (severity padded to 8, id to 28) and "         fix: FIX".
void RenderFindingsText(const std::vector<Finding>& findings, std::string_view title,
                        const Sink& sink);

// The findings section of `berth scan`: a blank line, "TITLE: N errors, N warnings, N info",
// then per finding "SEVERITY ID  SUBJECT  PROTO PORTS" (ports cut at 60 characters), "  why  "
// and "  fix  " lines. ANSI colour when `color`.
// `width` > 0: the why lines are wrapped to it under their label; fix lines are never
// wrapped (a command must copy whole).
void RenderFindingsReport(const std::vector<Finding>& findings, std::string_view title, bool color,
                          const Sink& sink, std::size_t width = 0);

}  // namespace berth
