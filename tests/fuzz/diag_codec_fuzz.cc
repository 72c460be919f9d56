// Fuzz target: the sock_diag reply decoder must never crash, read out of bounds, or
// allocate without bound, whatever the kernel (or a recorded dump) hands it.
#include <cstddef>
#include <cstdint>

#include "host/diag_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  for (berth::Protocol p : {berth::Protocol::kTcp, berth::Protocol::kUdp}) {
    berth::HostSnapshot snap;
    const std::vector<berth::SocketRecord>& out = snap.sockets;
    auto r = berth::DecodeDiagBatch(std::span(bytes, size), p, 7, snap);
    if (out.size() > size / 72 + 1) __builtin_trap();  // one record needs 72 bytes at least
    // Two addresses a socket (and the failed one), beside the table's own 0.0.0.0.
    if (snap.addresses.size() > 2 * out.size() + 3) __builtin_trap();
    (void)r;
  }
  return 0;
}
