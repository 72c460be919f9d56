// Fuzz target: ONC RPC record marking, REPLY header and both DUMP list formats, plus
// universal addresses, on arbitrary bytes (seeds: real rpcbind replies).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "probe/rpc_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::probe;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto scan = ScanRecord(bytes, 1 << 16, 64);
  const std::span<const std::byte> msg = scan && scan->complete ? std::span<const std::byte>(scan->record) : bytes;
  if (auto reply = DecodeRpcReply(msg)) {
    (void)DecodePmapDump(reply->results);
    if (auto entries = DecodeRpcbDump(reply->results)) {
      for (const auto& e : *entries) (void)IsInetNetid(e.netid);
    }
    (void)DecodeGetportResult(reply->results);
  }
  (void)DecodeRpcbDump(bytes);
  (void)ParseUaddr(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
