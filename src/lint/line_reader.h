// The one line reader every line-oriented lint format (nginx, sshd, postgresql.conf,
// redis.conf, my.cnf, systemd units, .env, .properties) goes through: bounded splitting into
// numbered lines, comments, key/value splitting with the value's column, and port numbers.
// Input is untrusted file content. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::lint {

inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
inline constexpr std::size_t kMaxLines = 200'000;

struct Line {
  int number = 0;         // 1-based
  std::string_view text;  // without the line break (LF or CRLF)
};

// Splits `text` into lines. Failure: kMalformed naming the line for a line longer than
// kMaxLineBytes, a NUL byte (binary content), or more than kMaxLines lines.
[[nodiscard]] Result<std::vector<Line>> SplitLines(std::string_view text);

// The checks a document read whole (JSON, XML) passes first. Failure: kMalformed for more
// than `max_bytes` ("N bytes, more than the K KiB a FORMAT configuration file may have") or a
// NUL byte (binary content).
[[nodiscard]] Result<void> CheckDocumentBytes(std::string_view text, std::size_t max_bytes,
                                              std::string_view format);

// `s` without leading and trailing blanks (space, tab, CR, vertical tab, form feed).
std::string_view Trim(std::string_view s);

// `line` up to a comment: a `comment` character at the start or after a blank. Quotes are
// not interpreted (none of the formats quotes a port).
std::string_view StripComment(std::string_view line, char comment = '#');

struct KeyValue {
  std::string_view key;
  std::string_view value;  // trimmed; quotes kept
  int value_column = 0;    // 1-based column of the value's first byte in the line
};

// Splits "key = value", "key: value" (any of `separators`) or, when `separators` contains
// ' ', "key value". The key is trimmed; empty keys give nullopt. `line` must be a view into
// the original line so that columns are right.
std::optional<KeyValue> SplitKeyValue(std::string_view line, std::string_view separators);

// `s` without one pair of matching surrounding quotes ("..." or '...').
std::string_view Unquote(std::string_view s);

// A decimal port 0-65535: digits only, at most 5. nullopt otherwise.
std::optional<Port> ParsePortNumber(std::string_view s);

// "N" or "N-M" with N <= M (decimal ports). nullopt otherwise.
std::optional<PortRange> ParsePortOrRange(std::string_view s);

// The 1-based line and column of byte `offset` in `text` (columns count bytes).
struct LineColumn {
  int line = 1;
  int column = 1;
};
LineColumn PositionOf(std::string_view text, std::size_t offset);

// Lower-case ASCII copy.
std::string AsciiLower(std::string_view s);

// Case-insensitive ASCII equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace berth::lint
