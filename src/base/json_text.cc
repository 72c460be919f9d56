#include "base/json_text.h"

#include <fmt/core.h>

namespace berth {

Result<void> CheckJsonDepth(std::string_view text, int max_depth, std::string_view source) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("{}: nested deeper than {} levels (at byte {})", source,
                                max_depth, i));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return {};
}

}  // namespace berth
