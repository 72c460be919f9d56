#include "lint/edit.h"

#include <algorithm>
#include <tuple>

namespace berth::lint {

EditResult ApplyEdits(std::string_view text, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return std::tie(a.offset, a.expected, a.replacement) < std::tie(b.offset, b.expected, b.replacement);
  });
  edits.erase(std::unique(edits.begin(), edits.end()), edits.end());
  EditResult out;
  out.text.reserve(text.size() + 64);
  std::size_t pos = 0;  // bytes of `text` copied so far
  for (const Edit& e : edits) {
    const bool fits = e.offset >= pos && e.offset <= text.size() &&
                      text.substr(e.offset, e.expected.size()) == e.expected;
    if (!fits) {
      ++out.skipped;
      continue;
    }
    out.text.append(text.substr(pos, e.offset - pos));
    out.text.append(e.replacement);
    pos = e.offset + e.expected.size();
    ++out.applied;
    out.applied_edits.push_back(e);
  }
  out.text.append(text.substr(std::min(pos, text.size())));
  return out;
}

}  // namespace berth::lint
