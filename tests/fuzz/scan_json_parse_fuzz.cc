// Fuzz target: the berth.scan/1 reader must never crash, throw, or hand back a snapshot
// whose owners point outside its sockets or processes, whatever file it is given.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/scan_json_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  berth::ScanJsonInfo info;
  auto snap = berth::ParseScanJson(text, "fuzz.json", &info);
  if (!snap) return 0;
  for (const berth::SocketOwner& o : snap->owners) {
    if (o.socket >= snap->sockets.size() || o.process >= snap->processes.size()) __builtin_trap();
  }
  for (const berth::SocketRecord& s : snap->sockets) {
    if (snap->HasInterface(s) && snap->InterfaceName(s).empty()) __builtin_trap();
  }
  return 0;
}
