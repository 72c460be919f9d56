// berth.toml: the declarative registry file (groups, families, services), described in
// docs/registry.md. Parsing is pure and fuzzed; formatting is canonical, so
// Format(Parse(Format(doc))) == Format(doc) and export/import round-trip exactly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "registry/model.h"

namespace berth::registry {

inline constexpr int kTomlSchema = 1;

// Bounds checked before the TOML parser sees the text (it recurses per key part and per
// nesting level): the size of a file, the parts of one dotted key or table header, and the
// depth of nested arrays, inline tables and header brackets.
inline constexpr std::size_t kMaxTomlBytes = std::size_t{16} << 20;
inline constexpr int kMaxKeyParts = 32;
inline constexpr int kMaxNesting = 32;

// Parses and validates a whole file. `source` names it in messages ("berth.toml").
// A UTF-8 byte order mark at the start is skipped.
// Failure: kMalformed "SOURCE:LINE:COLUMN: what is wrong" for a syntax error, a text past
// the bounds above, an unknown key,
// a value of the wrong type or range, a duplicate name, two services claiming one
// (group, protocol, port), or a reference to an unknown group or family. A service without
// `port` gets port 0: the caller allocates it.
[[nodiscard]] Result<RegistryDoc> ParseBerthToml(std::string_view text, std::string_view source);

// The canonical text of `doc`: sorted by name, default values left out.
std::string FormatBerthToml(const RegistryDoc& doc);

// "2026-11-23T20:44:33Z" for unix seconds.
std::string FormatUtc(std::int64_t unix_seconds);

}  // namespace berth::registry
