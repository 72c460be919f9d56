// DCE/MS-RPC endpoint mapper over TCP 135 on the wire (C706 ch. 12, App. I/L/O; [MS-RPCE]):
// the connection-oriented PDU header and framing, bind to the EPM interface with NDR 2.0,
// ept_lookup (opnum 2) and lookup_handle_free (opnum 4) requests, response/fault PDUs, the
// NDR stub of an ept_lookup answer and its towers (which are not NDR: little-endian lengths,
// big-endian ports and addresses). Pure; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::probe {

inline constexpr Port kEpmPort = 135;
inline constexpr std::uint32_t kEptNoMoreEntries = 0x16c9a0d6;  // EPT_S_NOT_REGISTERED
inline constexpr std::uint32_t kEptMaxEnts = 500;
inline constexpr std::size_t kMaxPduSize = 65535;

enum class PduType : std::uint8_t { kRequest = 0, kResponse = 2, kFault = 3, kBind = 11, kBindAck = 12, kBindNak = 13 };
inline constexpr std::uint8_t kFirstFrag = 0x01;
inline constexpr std::uint8_t kLastFrag = 0x02;

using ContextHandle = std::array<std::byte, 20>;

std::vector<std::byte> EncodeEpmBind(std::uint32_t call_id);
std::vector<std::byte> EncodeEptLookup(std::uint32_t call_id, const ContextHandle& handle,
                                       std::uint32_t max_ents = kEptMaxEnts);
std::vector<std::byte> EncodeEptLookupHandleFree(std::uint32_t call_id, const ContextHandle& handle);

// Length of the first complete PDU in `stream`, 0 if more bytes are needed. Failure
// (kMalformed): not DCE/RPC v5.0, or a frag_length under 16.
[[nodiscard]] Result<std::size_t> FramePdu(std::span<const std::byte> stream);

struct Pdu {
  PduType type = PduType::kResponse;
  std::uint8_t flags = 0;
  std::uint32_t call_id = 0;
  std::uint32_t status = 0;  // fault: the status; bind_nak: reject reason; bind_ack: result
  std::span<const std::byte> stub;  // response: the stub data of this fragment (a view)
};
// Decodes one PDU (as framed by FramePdu). Failure (kMalformed): short, big-endian drep,
// unknown type, an auth trailer, or a bind_ack without results.
[[nodiscard]] Result<Pdu> DecodePdu(std::span<const std::byte> pdu);

enum class TowerProtocol { kTcp, kUdp, kNamedPipe, kLocal, kHttp, kNetbios, kOther };
std::string_view TowerProtocolName(TowerProtocol p);  // ncacn_ip_tcp, ncadg_ip_udp, ncacn_np, ncalrpc, ncacn_http...

struct Tower {
  std::string interface_uuid;  // "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
  std::uint16_t version_major = 0, version_minor = 0;
  TowerProtocol protocol = TowerProtocol::kOther;
  Port port = 0;          // tcp, udp, http
  std::string endpoint;   // named pipe / ncalrpc name
  std::string host;       // dotted IPv4 or a NetBIOS name ("" if none)
};
// Failure (kMalformed): short, over 16 floors, or no interface floor.
[[nodiscard]] Result<Tower> DecodeTower(std::span<const std::byte> tower);

struct EptEntry {
  std::string object_uuid;
  std::string annotation;
  std::optional<Tower> tower;  // nullopt: NULL tower, or one that did not decode
};
struct EptLookupResult {
  ContextHandle handle{};
  std::vector<EptEntry> entries;
  std::uint32_t status = 0;
  bool handle_closed() const;
};
// The NDR stub of an ept_lookup response (all fragments joined). Failure (kMalformed):
// short input, more than kEptMaxEnts entries, counts that disagree, annotations over 64 bytes.
[[nodiscard]] Result<EptLookupResult> DecodeEptLookupStub(std::span<const std::byte> stub);

// The NDR stub of a lookup_handle_free response: the handle as the server returned it and
// the status. C706 has the server zero the handle; samba-dcerpcd 4.17 closes it but echoes
// it back unchanged, so status 0 alone means released. Failure (kMalformed): shorter than
// 24 bytes.
struct HandleFreeResult {
  ContextHandle handle{};
  std::uint32_t status = 0;
  bool released() const { return status == 0; }
};
[[nodiscard]] Result<HandleFreeResult> DecodeHandleFreeStub(std::span<const std::byte> stub);

// Windows GUID layout: first three groups little-endian.
std::string UuidToString(std::span<const std::byte, 16> b);

}  // namespace berth::probe
