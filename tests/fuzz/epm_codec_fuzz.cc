// Fuzz target: DCE/RPC PDU framing and decoding, the ept_lookup NDR stub and its towers,
// and the lookup_handle_free stub.
// The first byte selects: 's' = a joined stub, anything else = a PDU stream.
#include <cstddef>
#include <cstdint>
#include <span>

#include "probe/epm_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::probe;
  if (size == 0) return 0;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  if (data[0] == 's') {
    (void)DecodeEptLookupStub(bytes);
    (void)DecodeTower(bytes);
    (void)DecodeHandleFreeStub(bytes);
    return 0;
  }
  auto len = FramePdu(bytes);
  if (len && *len > 0) {
    if (auto pdu = DecodePdu(bytes.first(*len))) {
      (void)DecodeEptLookupStub(pdu->stub);
      (void)DecodeHandleFreeStub(pdu->stub);
    }
  }
  return 0;
}
