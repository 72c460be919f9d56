// Fuzz target: the collected-Windows-host reader must never crash, throw, or hand back a host
// whose owners point outside its sockets or processes, whatever bytes it is given (UTF-16 or
// UTF-8, any JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/windows_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto host = berth::ParseWindowsCollection(bytes, "fuzz.json");
  if (!host) return 0;
  for (const berth::SocketOwner& o : host->snap.owners) {
    if (o.socket >= host->snap.sockets.size() || o.process >= host->snap.processes.size()) __builtin_trap();
  }
  for (const berth::windows::PortBlock& b : host->dynamic) {
    if (b.range.low > b.range.high) __builtin_trap();
  }
  return 0;
}
