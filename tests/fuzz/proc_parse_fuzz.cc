// Fuzz target: /proc text parsers (fd links, cgroup files, sockstat, a status's Tgid) on
// arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/proc_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)berth::ParseSocketLink(text);
  berth::CgroupInfo c = berth::ParseCgroup(text);
  if (c.unit.size() > size || c.container.size() > size + 4) __builtin_trap();
  if (berth::SockstatSockets(text, text, true, true) > 6 * (std::size_t{1} << 26)) __builtin_trap();
  if (auto tgid = berth::ParseStatusTgid(text); tgid && *tgid < 1) __builtin_trap();
  return 0;
}
