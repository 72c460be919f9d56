// The SQL Server named instances a `berth probe --json` document found (schema
// berth.probe/1, docs/probe.md), for `berth lint --probe FILE`: which TCP port each
// HOST\INSTANCE listens on, and whether that port is the instance's dynamic one. A pure
// function over text that came from the network: bounded in size, nesting and count, every
// field type-checked, never throws; fuzzed (tests/fuzz/lint_probe_json_fuzz.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::lint {

inline constexpr std::size_t kProbeJsonMaxBytes = std::size_t{64} << 20;  // 64 MiB
inline constexpr int kProbeJsonMaxDepth = 8;
inline constexpr std::size_t kProbeJsonMaxInstances = 100'000;

struct ProbedInstance {
  std::string target;    // the host as berth probe was given it
  std::string address;   // the address it answered from
  std::string instance;  // as the SQL Server Browser spelled it
  Port port = 0;         // its TCP port when probed
  bool dynamic = true;   // that port is from the dynamic range (moves on restart)
  std::optional<Port> registered;  // the registry's static port for it ("static".state
                                   // "registered"), when the probe had a registry
  std::string server_name = {};  // the computer name the SQL Server Browser gave; "" when absent
};

// Failure: kMalformed "SOURCE: what is wrong (at hosts[1].services[0].port)" for a document
// too large, nested too deep, not JSON, or not berth.probe/1 (the message names the schema).
// Services other than mssql, and mssql ones without a TCP port (named pipes), are skipped.
[[nodiscard]] Result<std::vector<ProbedInstance>> ParseProbeInstances(std::string_view text,
                                                                      std::string_view source);

}  // namespace berth::lint
