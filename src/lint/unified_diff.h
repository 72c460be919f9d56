// berth lint's edits as a unified diff (the format `diff -u` writes and `patch` and
// `git apply` read): what `--fix` would write, shown before anything is written. Pure;
// thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "lint/port_decl.h"

namespace berth::lint {

inline constexpr int kDiffContextLines = 3;

// A unified diff of `before` against `before` with `edits` applied, with kDiffContextLines
// lines of context and the headers "--- OLD_NAME" and "+++ NEW_NAME". `edits` must be what
// ApplyEdits applied (EditResult::applied_edits): sorted by offset, not overlapping, each
// holding its `expected` bytes in `before`. A last line without a line break carries
// "\ No newline at end of file", as diff writes it. "" when `edits` is empty. The caller
// checks the names: they are written as given.
std::string UnifiedDiff(std::string_view old_name, std::string_view new_name,
                        std::string_view before, std::span<const Edit> edits);

}  // namespace berth::lint
