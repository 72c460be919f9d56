// Text as Windows PowerShell 5.1 and PowerShell 7 write it: the encodings of a file they
// produced, and the dates ConvertTo-Json writes. Pure functions over untrusted text, bounded;
// fuzzed through the collected-host reader (tests/fuzz/windows_parse_fuzz.cc). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth {

inline constexpr std::size_t kPowerShellTextMaxBytes = std::size_t{64} << 20;  // 64 MiB

// `bytes` as UTF-8 text: a UTF-8 BOM is dropped, UTF-16LE with a BOM (5.1's `>`) is
// converted, anything else is returned as it is. Failure: kMalformed "SOURCE: ..." for
// UTF-16BE, UTF-32, an odd UTF-16 length, an unpaired surrogate, or more than
// kPowerShellTextMaxBytes.
[[nodiscard]] Result<std::string> DecodePowerShellText(std::string_view bytes, std::string_view source);

// A date as ConvertTo-Json writes it, in unix milliseconds: "/Date(1764712345678)/" (5.1;
// the JSON reader has already turned "\/" into "/"), optionally with a +hhmm offset that does
// not change the instant, or ISO 8601 "2026-12-02T22:00:00.1234567Z" / "...+01:00" (7).
// nullopt for anything else.
std::optional<std::int64_t> ParsePowerShellDate(std::string_view text);

}  // namespace berth
