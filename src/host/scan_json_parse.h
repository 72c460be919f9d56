// Reading a `berth scan --json` document (schema berth.scan/1, docs/scan-json.md) back into
// the HostSnapshot it was rendered from, so a scan taken elsewhere replays through the audit.
// A pure function over untrusted text: bounded in size, nesting and counts, every field
// type-checked; fuzzed (tests/fuzz/scan_json_parse_fuzz.cc). Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string_view>

#include "base/error.h"
#include "core/socket.h"

namespace berth {

inline constexpr std::size_t kScanJsonMaxBytes = std::size_t{256} << 20;  // 256 MiB
inline constexpr int kScanJsonMaxDepth = 16;
inline constexpr std::size_t kScanJsonMaxItems = 4'000'000;  // sockets, processes, owners each

// What the document says about how it was taken, beyond the snapshot itself.
struct ScanJsonInfo {
  bool all_states = false;  // true: sockets in every state were listed (--all)
};

// Parses `text`, a BOM-free UTF-8 berth.scan/1 document. `source` names it in errors (a path).
// Read: host (hostname, netns, ephemeral range, reserved ports, unprivileged_port_start,
// tcp_tw_reuse), sockets, processes, owners, owners_resolved, partial, warnings. Ignored:
// findings, pressure, summary, per-socket class (all recomputed). Fields unknown to this
// reader are ignored (the schema only ever adds fields). Interface names get ifindexes
// 1, 2, ... in order of first use (the document holds names only); owners come out sorted
// by (socket, process, fd) and processes in document order.
// Failure: kMalformed "SOURCE: what is wrong (at sockets[12].port)" for a document that is
// too large, nested too deep, not JSON, not berth.scan/1 (the message names the expected
// schema), or has a field of the wrong type or range; never throws.
[[nodiscard]] Result<HostSnapshot> ParseScanJson(std::string_view text, std::string_view source,
                                                 ScanJsonInfo* info = nullptr);

}  // namespace berth
