#include "lint/line_reader.h"

#include <algorithm>
#include <string>

#include <fmt/core.h>

namespace berth::lint {
namespace {
bool Blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

Result<std::vector<Line>> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  int number = 1;
  while (start < text.size()) {
    if (lines.size() >= kMaxLines) {
      return Fail(ErrorCode::kMalformed, fmt::format("more than {} lines", kMaxLines));
    }
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.size() > kMaxLineBytes) {
      return Fail(ErrorCode::kMalformed, fmt::format("line {} is longer than {} bytes (not a "
                                                     "configuration file?)",
                                                     number, kMaxLineBytes));
    }
    if (line.find('\0') != std::string_view::npos) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("line {} has a NUL byte (binary content, not a configuration file)", number));
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(Line{number, line});
    start = end + 1;
    ++number;
  }
  return lines;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && Blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && Blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view StripComment(std::string_view line, char comment) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == comment && (i == 0 || Blank(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

std::optional<KeyValue> SplitKeyValue(std::string_view line, std::string_view separators) {
  std::size_t k = 0;
  while (k < line.size() && Blank(line[k])) ++k;
  std::size_t end = k;
  const bool space_separates = separators.find(' ') != std::string_view::npos;
  while (end < line.size() && separators.find(line[end]) == std::string_view::npos &&
         !(space_separates && Blank(line[end]))) {
    ++end;
  }
  std::string_view key = Trim(line.substr(k, end - k));
  if (key.empty()) return std::nullopt;
  std::size_t v = end;
  while (v < line.size() && Blank(line[v])) ++v;
  if (v < line.size() && separators.find(line[v]) != std::string_view::npos && line[v] != ' ') ++v;
  while (v < line.size() && Blank(line[v])) ++v;
  std::string_view value = Trim(line.substr(std::min(v, line.size())));
  return KeyValue{key, value, static_cast<int>(v) + 1};
}

std::string_view Unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

std::optional<Port> ParsePortNumber(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<Port>(v);
}

std::optional<PortRange> ParsePortOrRange(std::string_view s) {
  const std::size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto p = ParsePortNumber(s);
    if (!p) return std::nullopt;
    return PortRange{*p, *p};
  }
  auto lo = ParsePortNumber(s.substr(0, dash));
  auto hi = ParsePortNumber(s.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return PortRange{*lo, *hi};
}

Result<void> CheckDocumentBytes(std::string_view text, std::size_t max_bytes,
                                std::string_view format) {
  if (text.size() > max_bytes) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{} bytes, more than the {} KiB a {} configuration file may have",
                            text.size(), max_bytes >> 10, format));
  }
  if (text.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kMalformed, fmt::format("a NUL byte: binary content, not {}", format));
  }
  return {};
}

LineColumn PositionOf(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  LineColumn lc;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      line_start = i + 1;
    }
  }
  lc.column = static_cast<int>(offset - line_start) + 1;
  return lc;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

}  // namespace berth::lint
