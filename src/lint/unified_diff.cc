#include "lint/unified_diff.h"

#include <algorithm>
#include <vector>

#include <fmt/core.h>

namespace berth::lint {
namespace {

// Lines changed by edits next to each other: old lines [first, end) and their new text.
struct Block {
  std::size_t first = 0;
  std::size_t end = 0;
  std::vector<std::string_view> old_lines;
  std::vector<std::string> new_lines;
};

// Lines with their line breaks; the last one may have none.
template <class S>
std::vector<S> LinesOf(std::string_view text) {
  std::vector<S> out;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t nl = text.find('\n', start);
    nl = nl == std::string_view::npos ? text.size() : nl + 1;
    out.emplace_back(text.substr(start, nl - start));
    start = nl;
  }
  return out;
}

// The index of the line holding byte `offset` (`starts` ascending, starts[0] == 0); the
// number of lines for an offset at the end of a text whose last line is complete.
std::size_t LineOf(const std::vector<std::size_t>& starts, std::size_t offset) {
  return static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), offset) -
                                  starts.begin()) - 1;
}

void AppendLine(std::string& out, char mark, std::string_view line) {
  out += mark;
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

std::string Range(std::size_t first, std::size_t count) {
  // A range of no lines names the line before it ("-0,0" for an empty file); a count of one
  // is left out, as diff writes it.
  if (count == 1) return fmt::format("{}", first + 1);
  return fmt::format("{},{}", count == 0 ? first : first + 1, count);
}

}  // namespace

std::string UnifiedDiff(std::string_view old_name, std::string_view new_name,
                        std::string_view before, std::span<const Edit> edits) {
  if (edits.empty()) return "";
  const std::vector<std::string_view> lines = LinesOf<std::string_view>(before);
  std::vector<std::size_t> starts;
  starts.reserve(lines.size() + 1);
  for (std::size_t at = 0; std::string_view l : lines) {
    starts.push_back(at);
    at += l.size();
  }
  // Past the last complete line: an edit there (an insertion at the end) opens line N.
  starts.push_back(before.size());
  const std::size_t n = lines.size();
  auto line_start = [&](std::size_t i) { return i < n ? starts[i] : before.size(); };
  // The end of a text whose last line has no line break is still on that line.
  const bool open_end = n > 0 && lines[n - 1].back() != '\n';
  auto line_of = [&](std::size_t offset) {
    const std::size_t i = std::min(LineOf(starts, offset), n);
    return i == n && open_end ? n - 1 : i;
  };

  // Edits grouped into blocks of whole lines: edits on one line or on adjacent lines share a
  // block, whose old lines are all written before its new ones (as diff does).
  std::vector<Block> blocks;
  std::vector<std::vector<const Edit*>> block_edits;
  for (const Edit& e : edits) {
    const std::size_t first = line_of(e.offset);
    const std::size_t last_byte = e.expected.empty() ? e.offset : e.offset + e.expected.size() - 1;
    std::size_t end = line_of(last_byte) + 1;
    if (first == n) end = n;  // an insertion after the last complete line replaces no line
    if (!blocks.empty() && first <= blocks.back().end) {
      blocks.back().end = std::max(blocks.back().end, end);
      block_edits.back().push_back(&e);
      continue;
    }
    blocks.push_back(Block{first, end, {}, {}});
    block_edits.push_back({&e});
  }
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    Block& block = blocks[b];
    const std::size_t from = line_start(block.first);
    const std::size_t to = line_start(block.end);
    std::string text;
    std::size_t pos = from;
    for (const Edit* e : block_edits[b]) {
      text.append(before.substr(pos, e->offset - pos));
      text.append(e->replacement);
      pos = e->offset + e->expected.size();
    }
    text.append(before.substr(pos, to - std::min(pos, to)));
    block.old_lines.assign(lines.begin() + static_cast<std::ptrdiff_t>(block.first),
                           lines.begin() + static_cast<std::ptrdiff_t>(block.end));
    block.new_lines = LinesOf<std::string>(text);
  }

  std::string out = fmt::format("--- {}\n+++ {}\n", old_name, new_name);
  const std::size_t ctx = kDiffContextLines;
  std::ptrdiff_t delta = 0;  // new line numbers minus old ones, before the hunk
  for (std::size_t h = 0; h < blocks.size();) {
    // A hunk: blocks whose context would touch.
    std::size_t last = h;
    while (last + 1 < blocks.size() && blocks[last + 1].first <= blocks[last].end + 2 * ctx) ++last;
    const std::size_t old_first = blocks[h].first > ctx ? blocks[h].first - ctx : 0;
    const std::size_t old_end = std::min(n, blocks[last].end + ctx);
    std::ptrdiff_t growth = 0;
    for (std::size_t b = h; b <= last; ++b) {
      growth += static_cast<std::ptrdiff_t>(blocks[b].new_lines.size()) -
                static_cast<std::ptrdiff_t>(blocks[b].old_lines.size());
    }
    const std::size_t old_count = old_end - old_first;
    const auto new_first = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(old_first) + delta);
    const auto new_count = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(old_count) + growth);
    out += fmt::format("@@ -{} +{} @@\n", Range(old_first, old_count), Range(new_first, new_count));
    std::size_t i = old_first;
    for (std::size_t b = h; b <= last; ++b) {
      for (; i < blocks[b].first; ++i) AppendLine(out, ' ', lines[i]);
      for (std::string_view l : blocks[b].old_lines) AppendLine(out, '-', l);
      for (const std::string& l : blocks[b].new_lines) AppendLine(out, '+', l);
      i = blocks[b].end;
    }
    for (; i < old_end; ++i) AppendLine(out, ' ', lines[i]);
    delta += growth;
    h = last + 1;
  }
  return out;
}

}  // namespace berth::lint
