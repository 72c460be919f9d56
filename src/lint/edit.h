// Applying berth lint's edits to a file's content: every byte outside the edited spans is
// kept (comments, order, indentation). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lint/port_decl.h"

namespace berth::lint {

struct EditResult {
  std::string text;
  std::size_t applied = 0;
  std::size_t skipped = 0;  // the span no longer holds `expected`, or overlaps an earlier edit
  std::vector<Edit> applied_edits;  // sorted by offset, in `text`'s original offsets
};

// `text` with `edits` applied (in offset order; identical edits count once).
EditResult ApplyEdits(std::string_view text, std::vector<Edit> edits);

}  // namespace berth::lint
