// Checks on JSON text before a recursive parser sees it. nlohmann::json recurses once per
// nesting level, so a document of a million '[' must be refused here, not on the parser's
// stack. Pure; thread-safe.
#pragma once

#include <string_view>

#include "base/error.h"

namespace berth {

// Fails (kMalformed: "SOURCE: nested deeper than N levels (at byte I)") when objects and
// arrays of `text` nest deeper than `max_depth`. Strings (with their escapes) are skipped.
[[nodiscard]] Result<void> CheckJsonDepth(std::string_view text, int max_depth,
                                          std::string_view source);

}  // namespace berth
