// berth.toml: the declarative registry file (groups, families, services), described in
// docs/registry.md. Parsing is pure and fuzzed; formatting is canonical, so
// Format(Parse(Format(doc))) == Format(doc) and export/import round-trip exactly.
#pragma once

#include <string>
#include <string_view>

#include "registry/model.h"

namespace berth::registry {

inline constexpr int kTomlSchema = 1;

// Parses and validates a whole file. `source` names it in messages ("berth.toml").
// Failure: kMalformed "SOURCE:LINE:COLUMN: what is wrong" for a syntax error, an unknown key,
// a value of the wrong type or range, a duplicate name, two services claiming one
// (group, protocol, port), or a reference to an unknown group or family. A service without
// `port` gets port 0: the caller allocates it.
[[nodiscard]] Result<RegistryDoc> ParseBerthToml(std::string_view text, std::string_view source);

// The canonical text of `doc`: sorted by name, default values left out.
std::string FormatBerthToml(const RegistryDoc& doc);

// "2026-11-23T20:44:33Z" for unix seconds.
std::string FormatUtc(std::int64_t unix_seconds);

}  // namespace berth::registry
