// What every fuzz target of a berth lint reader that keeps byte offsets asserts of its
// declarations: each offset starts the digits of its port (leading zeros allowed, as the
// readers allow them), its line and column are that offset's; then the rules run over them.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "lint/line_reader.h"
#include "lint/rules.h"

inline void CheckLintDecls(std::string_view text, const std::vector<berth::lint::PortDecl>& decls) {
  for (const auto& d : decls) {
    if (d.dynamic == berth::lint::Dynamic::kRandom) continue;
    if (d.offset >= text.size()) __builtin_trap();
    const std::string_view at_offset = text.substr(d.offset);
    const std::size_t digits = at_offset.find_first_not_of("0123456789");
    const auto port = berth::lint::ParsePortNumber(at_offset.substr(0, digits));
    if (!port || *port != d.ports.low) __builtin_trap();
    const berth::lint::LineColumn at = berth::lint::PositionOf(text, d.offset);
    if (at.line != d.where.line || at.column != d.where.column) __builtin_trap();
  }
  (void)berth::lint::ApplyRules(decls, {});
}
