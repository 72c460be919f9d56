// Fuzz target: lint --probe's reader of `berth probe --json` files must never crash or throw,
// and what it keeps is always an instance with a name and a TCP port.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint/probe_json_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = berth::lint::ParseProbeInstances(text, "fuzz.json");
  if (!r) return 0;
  for (const berth::lint::ProbedInstance& p : *r) {
    if (p.instance.empty() || p.port == 0) __builtin_trap();
  }
  return 0;
}
