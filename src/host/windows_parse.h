// Reading what `berth collect --format powershell` collected on a Windows host (schema
// berth.windows/1, docs/windows.md) into a windows::WindowsHost. It accepts what real
// PowerShell writes: UTF-8 (with or without a BOM) or UTF-16LE with a BOM (Windows
// PowerShell 5.1's `>`), enums as integers or names, dates as "\/Date(ms)\/" or ISO 8601, a
// lone object where an array was meant, and string lists that ConvertTo-Json's -Depth cut
// into one space-separated string; it refuses anything else with an error that says what and
// where. A pure function over untrusted bytes: bounded in size, nesting and counts; fuzzed
// (tests/fuzz/windows_parse_fuzz.cc). Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"
#include "core/windows_host.h"
#include "host/powershell_text_parse.h"

namespace berth {

inline constexpr std::string_view kWindowsSchema = "berth.windows/1";
inline constexpr std::size_t kWindowsMaxBytes = kPowerShellTextMaxBytes;  // 64 MiB
inline constexpr int kWindowsMaxDepth = 16;
inline constexpr std::size_t kWindowsMaxItems = 1'000'000;  // per list

// True when `bytes` (a whole file) look like a collected Windows host rather than a `berth
// scan --json` document: a UTF-16 byte order mark, or a "Schema" key whose value starts with
// "berth.windows/".
bool LooksLikeWindowsCollection(std::string_view bytes);

// Parses a collected host. `source` names it in errors (a path). Failure: kMalformed
// "SOURCE: what is wrong (at TcpListeners[3].LocalPort)" for bytes that are not one of the
// encodings above, not JSON, nested deeper than kWindowsMaxDepth, not berth.windows/1 (the
// message names the expected schema), a list longer than kWindowsMaxItems, a field of the
// wrong type or range, or a part that ConvertTo-Json's -Depth cut beyond recovery (the
// message says to rerun the collector as berth prints it); never throws.
[[nodiscard]] Result<windows::WindowsHost> ParseWindowsCollection(std::string_view bytes,
                                                                  std::string_view source);

}  // namespace berth
