// Fuzz target: SSRP SVR_RESP and DAC replies on arbitrary bytes (seeds: captured replies).
#include <cstddef>
#include <cstdint>
#include <span>

#include "probe/ssrp_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  (void)berth::probe::DecodeSsrpResponse(bytes);
  (void)berth::probe::DecodeSsrpDacResponse(bytes);
  return 0;
}
