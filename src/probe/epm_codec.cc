// EPM codec: see epm_codec.h. Byte layouts in shared/docs/protocols.md §3.
#include "probe/epm_codec.h"

#include <fmt/core.h>

#include "base/byte_reader.h"

namespace berth::probe {
namespace {

constexpr std::uint8_t kEpmUuid[16] = {0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11,
                                       0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa};
constexpr std::uint8_t kNdrUuid[16] = {0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
                                       0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60};
constexpr std::size_t kMaxFloors = 16;
constexpr std::size_t kMaxTower = 4096;

void Le16(std::vector<std::byte>& o, std::uint16_t v) {
  o.push_back(static_cast<std::byte>(v & 0xff));
  o.push_back(static_cast<std::byte>(v >> 8));
}
void Le32(std::vector<std::byte>& o, std::uint32_t v) {
  for (int s = 0; s < 32; s += 8) o.push_back(static_cast<std::byte>((v >> s) & 0xff));
}
void Raw(std::vector<std::byte>& o, const std::uint8_t (&b)[16]) {
  for (std::uint8_t x : b) o.push_back(std::byte{x});
}

std::vector<std::byte> Header(PduType type, std::uint32_t call_id) {
  std::vector<std::byte> o{std::byte{5}, std::byte{0}, static_cast<std::byte>(type), std::byte{0x03},
                           std::byte{0x10}, std::byte{0}, std::byte{0}, std::byte{0}};
  Le16(o, 0);  // frag_length, patched by Finish
  Le16(o, 0);  // auth_length
  Le32(o, call_id);
  return o;
}
std::vector<std::byte> Finish(std::vector<std::byte> o) {
  o[8] = static_cast<std::byte>(o.size() & 0xff);
  o[9] = static_cast<std::byte>(o.size() >> 8);
  return o;
}
std::vector<std::byte> Request(std::uint32_t call_id, std::uint16_t opnum, const std::vector<std::byte>& stub) {
  auto o = Header(PduType::kRequest, call_id);
  Le32(o, static_cast<std::uint32_t>(stub.size()));  // alloc_hint
  Le16(o, 0);                                          // p_cont_id
  Le16(o, opnum);
  o.insert(o.end(), stub.begin(), stub.end());
  return Finish(std::move(o));
}

Result<void> Align4(ByteReader& r, std::size_t base) {
  const std::size_t rel = r.position() - base;
  return r.Skip((4 - rel % 4) % 4, "NDR alignment");
}

std::string Latin1(std::span<const std::byte> b) {
  std::string s;
  for (std::byte c : b) {
    if (c == std::byte{0}) break;
    s.push_back(static_cast<char>(c));
  }
  return s;
}

}  // namespace

std::string UuidToString(std::span<const std::byte, 16> b) {
  const auto u = [&](std::size_t i) { return std::to_integer<unsigned>(b[i]); };
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     u(3), u(2), u(1), u(0), u(5), u(4), u(7), u(6), u(8), u(9), u(10), u(11), u(12), u(13),
                     u(14), u(15));
}

std::vector<std::byte> EncodeEpmBind(std::uint32_t call_id) {
  auto o = Header(PduType::kBind, call_id);
  Le16(o, 4280);  // max_xmit
  Le16(o, 4280);  // max_recv
  Le32(o, 0);     // assoc_group
  Le32(o, 1);     // n_context_elem = 1, reserved
  Le16(o, 0);     // p_cont_id
  Le16(o, 1);     // n_transfer_syn = 1, reserved
  Raw(o, kEpmUuid);
  Le16(o, 3);  // EPM v3.0
  Le16(o, 0);
  Raw(o, kNdrUuid);
  Le32(o, 2);  // NDR 2.0
  return Finish(std::move(o));
}

std::vector<std::byte> EncodeEptLookup(std::uint32_t call_id, const ContextHandle& handle, std::uint32_t max_ents) {
  std::vector<std::byte> stub;
  Le32(stub, 0);  // inquiry_type RPC_C_EP_ALL_ELTS
  Le32(stub, 0);  // object: NULL
  Le32(stub, 0);  // Ifid: NULL
  Le32(stub, 1);  // vers_option RPC_C_VERS_ALL
  stub.insert(stub.end(), handle.begin(), handle.end());
  Le32(stub, max_ents);
  return Request(call_id, 2, stub);
}

std::vector<std::byte> EncodeEptLookupHandleFree(std::uint32_t call_id, const ContextHandle& handle) {
  std::vector<std::byte> stub(handle.begin(), handle.end());
  return Request(call_id, 4, stub);
}

Result<std::size_t> FramePdu(std::span<const std::byte> stream) {
  if (stream.size() < 10) return 0;
  ByteReader r(stream, "DCE/RPC PDU");
  const std::uint8_t vers = BERTH_TRY(r.U8("rpc_vers"));
  const std::uint8_t minor = BERTH_TRY(r.U8("rpc_vers_minor"));
  if (vers != 5 || minor != 0) {
    return Fail(ErrorCode::kMalformed, fmt::format("DCE/RPC PDU: version {}.{}, not 5.0", vers, minor));
  }
  BERTH_TRY(r.Skip(2, "type and flags"));
  const std::uint8_t drep = BERTH_TRY(r.U8("drep"));
  BERTH_TRY(r.Skip(3, "drep"));
  const std::uint16_t len = (drep & 0x10) ? BERTH_TRY(r.U16Le("frag_length")) : BERTH_TRY(r.U16Be("frag_length"));
  if (len < 16) return Fail(ErrorCode::kMalformed, fmt::format("DCE/RPC PDU: frag_length {} under 16", len));
  return stream.size() >= len ? std::size_t{len} : 0;
}

Result<Pdu> DecodePdu(std::span<const std::byte> pdu) {
  ByteReader r(pdu, "DCE/RPC PDU");
  BERTH_TRY(r.Skip(2, "version"));
  const std::uint8_t type = BERTH_TRY(r.U8("PTYPE"));
  Pdu out;
  out.flags = BERTH_TRY(r.U8("pfc_flags"));
  const std::uint8_t drep = BERTH_TRY(r.U8("drep"));
  if (!(drep & 0x10)) return Fail(ErrorCode::kMalformed, "DCE/RPC PDU: big-endian data representation is not supported");
  BERTH_TRY(r.Skip(3, "drep"));
  const std::uint16_t frag_len = BERTH_TRY(r.U16Le("frag_length"));
  const std::uint16_t auth_len = BERTH_TRY(r.U16Le("auth_length"));
  out.call_id = BERTH_TRY(r.U32Le("call_id"));
  if (frag_len != pdu.size()) {
    return Fail(ErrorCode::kMalformed, fmt::format("DCE/RPC PDU: frag_length {} but {} bytes", frag_len, pdu.size()));
  }
  if (auth_len != 0) return Fail(ErrorCode::kMalformed, "DCE/RPC PDU: unexpected auth trailer");
  switch (type) {
    case 2: {
      out.type = PduType::kResponse;
      BERTH_TRY(r.Skip(8, "alloc_hint, p_cont_id, cancel_count"));
      out.stub = BERTH_TRY(r.Bytes(r.remaining(), "stub"));
      break;
    }
    case 3:
      out.type = PduType::kFault;
      BERTH_TRY(r.Skip(8, "alloc_hint, p_cont_id, cancel_count"));
      out.status = BERTH_TRY(r.U32Le("fault status"));
      break;
    case 12: {
      out.type = PduType::kBindAck;
      BERTH_TRY(r.Skip(8, "max_xmit, max_recv, assoc_group"));
      const std::uint16_t sec_len = BERTH_TRY(r.U16Le("sec_addr length"));
      BERTH_TRY(r.Skip(sec_len, "sec_addr"));
      BERTH_TRY(Align4(r, 0));
      const std::uint8_t n = BERTH_TRY(r.U8("n_results"));
      BERTH_TRY(r.Skip(3, "reserved"));
      if (n == 0) return Fail(ErrorCode::kMalformed, "DCE/RPC bind_ack: no results");
      out.status = BERTH_TRY(r.U16Le("result"));
      break;
    }
    case 13:
      out.type = PduType::kBindNak;
      out.status = BERTH_TRY(r.U16Le("reject_reason"));
      break;
    default:
      return Fail(ErrorCode::kMalformed, fmt::format("DCE/RPC PDU: unexpected PTYPE {}", type));
  }
  return out;
}

std::string_view TowerProtocolName(TowerProtocol p) {
  switch (p) {
    case TowerProtocol::kTcp: return "ncacn_ip_tcp";
    case TowerProtocol::kUdp: return "ncadg_ip_udp";
    case TowerProtocol::kNamedPipe: return "ncacn_np";
    case TowerProtocol::kLocal: return "ncalrpc";
    case TowerProtocol::kHttp: return "ncacn_http";
    case TowerProtocol::kNetbios: return "ncacn_nb";
    case TowerProtocol::kOther: return "other";
  }
  return "other";
}

Result<Tower> DecodeTower(std::span<const std::byte> tower) {
  ByteReader r(tower, "EPM tower");
  const std::uint16_t floors = BERTH_TRY(r.U16Le("floor_count"));
  if (floors > kMaxFloors) return Fail(ErrorCode::kMalformed, fmt::format("EPM tower: {} floors", floors));
  Tower t;
  bool have_interface = false;
  for (std::uint16_t f = 0; f < floors; ++f) {
    const std::uint16_t lhs_len = BERTH_TRY(r.U16Le("lhs length"));
    ByteReader lhs(BERTH_TRY(r.Bytes(lhs_len, "lhs")), "EPM tower lhs");
    const std::uint16_t rhs_len = BERTH_TRY(r.U16Le("rhs length"));
    auto rhs_bytes = BERTH_TRY(r.Bytes(rhs_len, "rhs"));
    ByteReader rhs(rhs_bytes, "EPM tower rhs");
    const std::uint8_t id = BERTH_TRY(lhs.U8("protocol id"));
    if (f == 0) {
      if (id != 0x0d) return Fail(ErrorCode::kMalformed, "EPM tower: floor 1 is not an interface UUID");
      auto uuid = BERTH_TRY(lhs.Bytes(16, "interface uuid"));
      t.interface_uuid = UuidToString(uuid.first<16>());
      t.version_major = BERTH_TRY(lhs.U16Le("interface major"));
      t.version_minor = BERTH_TRY(rhs.U16Le("interface minor"));
      have_interface = true;
      continue;
    }
    switch (id) {
      case 0x07: t.protocol = TowerProtocol::kTcp; t.port = BERTH_TRY(rhs.U16Be("tcp port")); break;
      case 0x08: t.protocol = TowerProtocol::kUdp; t.port = BERTH_TRY(rhs.U16Be("udp port")); break;
      case 0x1f: t.protocol = TowerProtocol::kHttp; t.port = BERTH_TRY(rhs.U16Be("http port")); break;
      case 0x0f: t.protocol = TowerProtocol::kNamedPipe; t.endpoint = Latin1(rhs_bytes); break;
      case 0x10: t.protocol = TowerProtocol::kLocal; t.endpoint = Latin1(rhs_bytes); break;
      case 0x12: t.protocol = TowerProtocol::kNetbios; t.endpoint = Latin1(rhs_bytes); break;
      case 0x09: {
        auto ip = BERTH_TRY(rhs.Bytes(4, "ipv4 address"));
        t.host = fmt::format("{}.{}.{}.{}", std::to_integer<int>(ip[0]), std::to_integer<int>(ip[1]),
                             std::to_integer<int>(ip[2]), std::to_integer<int>(ip[3]));
        break;
      }
      case 0x11: t.host = Latin1(rhs_bytes); break;
      default: break;  // transfer syntax (0x0d), RPC protocol (0x0a/0x0b) and others
    }
  }
  if (!have_interface) return Fail(ErrorCode::kMalformed, "EPM tower: no floors");
  return t;
}

bool EptLookupResult::handle_closed() const {
  for (std::byte b : handle) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

Result<EptLookupResult> DecodeEptLookupStub(std::span<const std::byte> stub) {
  ByteReader r(stub, "ept_lookup response");
  EptLookupResult out;
  auto handle = BERTH_TRY(r.Bytes(20, "entry_handle"));
  std::copy(handle.begin(), handle.end(), out.handle.begin());
  const std::uint32_t num = BERTH_TRY(r.U32Le("num_ents"));
  if (num > kEptMaxEnts) return Fail(ErrorCode::kMalformed, fmt::format("ept_lookup: num_ents {} over {}", num, kEptMaxEnts));
  const std::uint32_t max_count = BERTH_TRY(r.U32Le("entries max_count"));
  const std::uint32_t offset = BERTH_TRY(r.U32Le("entries offset"));
  const std::uint32_t actual = BERTH_TRY(r.U32Le("entries actual_count"));
  if (actual != num || offset != 0 || actual > max_count) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("ept_lookup: num_ents {} but array max {} offset {} actual {}", num, max_count, offset, actual));
  }
  std::vector<bool> has_tower;
  out.entries.reserve(actual);
  for (std::uint32_t i = 0; i < actual; ++i) {
    EptEntry e;
    auto obj = BERTH_TRY(r.Bytes(16, "object uuid"));
    e.object_uuid = UuidToString(obj.first<16>());
    has_tower.push_back(BERTH_TRY(r.U32Le("tower referent")) != 0);
    BERTH_TRY(r.U32Le("annotation offset"));
    const std::uint32_t len = BERTH_TRY(r.U32Le("annotation length"));
    if (len > 64) return Fail(ErrorCode::kMalformed, fmt::format("ept_lookup: annotation of {} bytes over 64", len));
    e.annotation = Latin1(BERTH_TRY(r.Bytes(len, "annotation")));
    BERTH_TRY(Align4(r, 0));
    out.entries.push_back(std::move(e));
  }
  for (std::uint32_t i = 0; i < actual; ++i) {
    if (!has_tower[i]) continue;
    BERTH_TRY(Align4(r, 0));
    BERTH_TRY(r.U32Le("tower max_count"));
    const std::uint32_t len = BERTH_TRY(r.U32Le("tower_length"));
    if (len > kMaxTower) return Fail(ErrorCode::kMalformed, fmt::format("ept_lookup: tower of {} bytes", len));
    auto bytes = BERTH_TRY(r.Bytes(len, "tower"));
    if (auto t = DecodeTower(bytes)) out.entries[i].tower = std::move(*t);
  }
  BERTH_TRY(Align4(r, 0));
  out.status = BERTH_TRY(r.U32Le("status"));
  return out;
}

Result<HandleFreeResult> DecodeHandleFreeStub(std::span<const std::byte> stub) {
  ByteReader r(stub, "lookup_handle_free response");
  HandleFreeResult out;
  auto handle = BERTH_TRY(r.Bytes(20, "entry_handle"));
  std::copy(handle.begin(), handle.end(), out.handle.begin());
  out.status = BERTH_TRY(r.U32Le("status"));
  return out;
}

}  // namespace berth::probe
