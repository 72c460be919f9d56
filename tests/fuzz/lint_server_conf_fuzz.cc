// Fuzz target: berth lint's readers of HAProxy, Apache, .service ExecStart= flags, odbc.ini,
// freetds.conf, and connection strings in any text (go-mssqldb URLs, pymssql calls), the
// format chosen by the first byte; then the rules over what they found, and the unified diff
// of the rewrites the rules make.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint/edit.h"
#include "lint/format.h"
#include "lint/rules.h"
#include "lint/unified_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using berth::lint::ConfigFormat;
  constexpr ConfigFormat kFormats[] = {ConfigFormat::kHaproxy, ConfigFormat::kApache,
                                       ConfigFormat::kSystemdService, ConfigFormat::kOdbc,
                                       ConfigFormat::kFreetds, ConfigFormat::kText};
  const ConfigFormat format = kFormats[data[0] % (sizeof kFormats / sizeof kFormats[0])];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decls = berth::lint::ReadPortDecls(format, "fuzz.service", text);
  if (!decls) return 0;
  for (const auto& d : *decls) {
    if (d.where.line < 1 || d.where.column < 1) __builtin_trap();
    if (d.ports.low > d.ports.high) __builtin_trap();
    if (d.offset > text.size()) __builtin_trap();
  }
  auto findings = berth::lint::ApplyRules(*decls, {});
  std::vector<berth::lint::Edit> edits;
  for (const auto& f : findings) {
    if (f.edit) edits.push_back(*f.edit);
  }
  const auto applied = berth::lint::ApplyEdits(text, edits);
  (void)berth::lint::UnifiedDiff("a/f", "b/f", text, applied.applied_edits);
  return 0;
}
