// berth lint's outputs: text (file:line:column, severity, rule, why, fix), JSON (schema
// berth.lint/1, docs/lint.md) and SARIF 2.1.0 for code-scanning tools. Every field read from
// a file (paths, keys, addresses, instance names) is data: TerminalSafe in text, escaped by
// JsonWriter in JSON and SARIF. Pure: output goes to the Sink. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/sink.h"
#include "lint/port_decl.h"

namespace berth {

struct LintView {
  const std::vector<std::string>* files = nullptr;
  const std::vector<lint::PortDecl>* decls = nullptr;
  const std::vector<lint::LintFinding>* findings = nullptr;
  const std::vector<lint::FileError>* errors = nullptr;
  std::string registry;  // where the registry was read, or "" when none was
};

// Per finding "FILE:LINE:COLUMN: SEVERITY [RULE] WHY", then "  key  KEY" and "  fix  FIX"
// lines; then "berth lint: N files, N declarations, N errors, N warnings, N info" (file
// errors are not here: the caller prints them on stderr).
void RenderLintText(const LintView& view, bool color, const Sink& sink);

// {"schema": "berth.lint/1", "files", "declarations", "findings", "errors", "summary"}.
void RenderLintJson(const LintView& view, const Sink& sink);

// A SARIF 2.1.0 log: one run, tool.driver berth `version` with every rule, one result per
// finding, file errors as tool execution notifications.
void RenderLintSarif(const LintView& view, std::string_view version, const Sink& sink);

}  // namespace berth
