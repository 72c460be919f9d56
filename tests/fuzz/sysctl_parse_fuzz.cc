// Fuzz target: sysctl value parsers and the port-list parser. A parsed list must survive
// Format() -> Parse() unchanged (the canonical form round-trips).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/port.h"
#include "host/sysctl.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)berth::ParseLocalPortRange(text);
  (void)berth::ParseSysctlInt(text);
  if (auto set = berth::PortSet::Parse(text)) {
    auto again = berth::PortSet::Parse(set->Format());
    if (!again || !(*again == *set)) __builtin_trap();
  }
  return 0;
}
