// ONC RPC / rpcbind codec: see rpc_codec.h.
#include "probe/rpc_codec.h"

#include <charconv>

#include <fmt/core.h>

#include "base/byte_reader.h"

namespace berth::probe {
namespace {

void PutBe32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>((v >> shift) & 0xff));
}

std::size_t Pad4(std::size_t n) { return (4 - n % 4) % 4; }

Result<std::string> XdrString(ByteReader& r, std::string_view field) {
  const std::uint32_t len = BERTH_TRY(r.U32Be(field));
  if (len > kMaxXdrString) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("rpcbind reply: {} of {} bytes exceeds the cap of {}", field, len, kMaxXdrString));
  }
  auto bytes = BERTH_TRY(r.Bytes(len, field));
  BERTH_TRY(r.Skip(Pad4(len), field));
  std::string s;
  s.reserve(bytes.size());
  for (std::byte b : bytes) s.push_back(static_cast<char>(b));
  // NetApp pads strings with NULs inside the length (nmap rpc.lua trims them too).
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// XDR optional-data: the "value follows" bool before each list element.
Result<bool> ValueFollows(ByteReader& r) {
  const std::uint32_t b = BERTH_TRY(r.U32Be("value-follows"));
  if (b > 1) return Fail(ErrorCode::kMalformed, fmt::format("rpcbind reply: value-follows is {}, not 0 or 1", b));
  return b == 1;
}

Result<void> CheckEntryCap(std::size_t count) {
  if (count >= kMaxRpcbEntries) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("rpcbind reply: more than {} registrations", kMaxRpcbEntries));
  }
  return {};
}

}  // namespace

std::vector<std::byte> EncodeRpcCall(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                                     std::uint32_t proc, std::span<const std::byte> args) {
  std::vector<std::byte> out;
  out.reserve(40 + args.size());
  for (std::uint32_t v : {xid, 0u, 2u, prog, vers, proc, 0u, 0u, 0u, 0u}) PutBe32(out, v);
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

std::vector<std::byte> EncodeRecord(std::span<const std::byte> message) {
  std::vector<std::byte> out;
  out.reserve(4 + message.size());
  PutBe32(out, 0x80000000u | static_cast<std::uint32_t>(message.size()));
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

std::vector<std::byte> EncodeGetportArgs(std::uint32_t prog, std::uint32_t vers, Protocol proto) {
  std::vector<std::byte> out;
  for (std::uint32_t v : {prog, vers, proto == Protocol::kTcp ? 6u : 17u, 0u}) PutBe32(out, v);
  return out;
}

Result<RecordScan> ScanRecord(std::span<const std::byte> stream, std::size_t max_record,
                              std::size_t max_fragments) {
  // First pass: walk the headers only, so the caps hold before anything is copied.
  ByteReader r(stream, "rpc record");
  std::size_t total = 0;
  std::size_t fragments = 0;
  bool last = false;
  while (!last) {
    if (r.remaining() < 4) return RecordScan{};
    const std::uint32_t header = BERTH_TRY(r.U32Be("fragment header"));
    last = (header & 0x80000000u) != 0;
    const std::size_t len = header & 0x7fffffffu;
    if (++fragments > max_fragments) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("rpc record: more than {} fragments", max_fragments));
    }
    if (len > max_record - total) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("rpc record: longer than the cap of {} bytes", max_record));
    }
    total += len;
    if (r.remaining() < len) return RecordScan{};
    BERTH_TRY(r.Skip(len, "fragment body"));
  }
  RecordScan scan{true, r.position(), {}};
  scan.record.reserve(total);
  ByteReader copy(stream.first(r.position()), "rpc record");
  while (!copy.empty()) {
    const std::uint32_t header = BERTH_TRY(copy.U32Be("fragment header"));
    auto body = BERTH_TRY(copy.Bytes(header & 0x7fffffffu, "fragment body"));
    scan.record.insert(scan.record.end(), body.begin(), body.end());
  }
  return scan;
}

std::string_view RpcReplyKindName(RpcReplyKind k) {
  switch (k) {
    case RpcReplyKind::kSuccess: return "success";
    case RpcReplyKind::kProgUnavail: return "program unavailable";
    case RpcReplyKind::kProgMismatch: return "program version mismatch";
    case RpcReplyKind::kProcUnavail: return "procedure unavailable";
    case RpcReplyKind::kGarbageArgs: return "garbage arguments";
    case RpcReplyKind::kSystemErr: return "system error";
    case RpcReplyKind::kRpcMismatch: return "RPC version mismatch";
    case RpcReplyKind::kAuthError: return "authentication error";
  }
  return "unknown";
}

Result<RpcReply> DecodeRpcReply(std::span<const std::byte> message) {
  ByteReader r(message, "rpc reply");
  RpcReply reply;
  reply.xid = BERTH_TRY(r.U32Be("xid"));
  const std::uint32_t type = BERTH_TRY(r.U32Be("msg_type"));
  if (type != 1) return Fail(ErrorCode::kMalformed, fmt::format("rpc reply: msg_type {} is not REPLY", type));
  const std::uint32_t stat = BERTH_TRY(r.U32Be("reply_stat"));
  if (stat == 1) {  // MSG_DENIED: no verifier
    const std::uint32_t reject = BERTH_TRY(r.U32Be("reject_stat"));
    if (reject == 0) {
      reply.kind = RpcReplyKind::kRpcMismatch;
      reply.low = BERTH_TRY(r.U32Be("low"));
      reply.high = BERTH_TRY(r.U32Be("high"));
    } else if (reject == 1) {
      reply.kind = RpcReplyKind::kAuthError;
      reply.auth_stat = BERTH_TRY(r.U32Be("auth_stat"));
    } else {
      return Fail(ErrorCode::kMalformed, fmt::format("rpc reply: unknown reject_stat {}", reject));
    }
    return reply;
  }
  if (stat != 0) return Fail(ErrorCode::kMalformed, fmt::format("rpc reply: unknown reply_stat {}", stat));
  BERTH_TRY(r.U32Be("verifier flavor"));
  const std::uint32_t verf_len = BERTH_TRY(r.U32Be("verifier length"));
  if (verf_len > 400) {
    return Fail(ErrorCode::kMalformed, fmt::format("rpc reply: verifier of {} bytes (RFC 5531 allows 400)", verf_len));
  }
  BERTH_TRY(r.Skip(verf_len + Pad4(verf_len), "verifier body"));
  const std::uint32_t accept = BERTH_TRY(r.U32Be("accept_stat"));
  switch (accept) {
    case 0:
      reply.kind = RpcReplyKind::kSuccess;
      reply.results = BERTH_TRY(r.Bytes(r.remaining(), "results"));
      break;
    case 1: reply.kind = RpcReplyKind::kProgUnavail; break;
    case 2:
      reply.kind = RpcReplyKind::kProgMismatch;
      reply.low = BERTH_TRY(r.U32Be("low"));
      reply.high = BERTH_TRY(r.U32Be("high"));
      break;
    case 3: reply.kind = RpcReplyKind::kProcUnavail; break;
    case 4: reply.kind = RpcReplyKind::kGarbageArgs; break;
    case 5: reply.kind = RpcReplyKind::kSystemErr; break;
    default: return Fail(ErrorCode::kMalformed, fmt::format("rpc reply: unknown accept_stat {}", accept));
  }
  return reply;
}

Result<std::vector<RpcbEntry>> DecodePmapDump(std::span<const std::byte> results) {
  ByteReader r(results, "portmap v2 dump");
  std::vector<RpcbEntry> out;
  while (BERTH_TRY(ValueFollows(r))) {
    BERTH_TRY(CheckEntryCap(out.size()));
    RpcbEntry e;
    e.prog = BERTH_TRY(r.U32Be("prog"));
    e.vers = BERTH_TRY(r.U32Be("vers"));
    const std::uint32_t prot = BERTH_TRY(r.U32Be("prot"));
    const std::uint32_t port = BERTH_TRY(r.U32Be("port"));
    if (prot == 6) e.netid = "tcp";
    else if (prot == 17) e.netid = "udp";
    else return Fail(ErrorCode::kMalformed, fmt::format("portmap v2 dump: protocol {} is neither 6 nor 17", prot));
    if (port > 0xffff) return Fail(ErrorCode::kMalformed, fmt::format("portmap v2 dump: port {} out of range", port));
    e.port = static_cast<Port>(port);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<RpcbEntry>> DecodeRpcbDump(std::span<const std::byte> results) {
  ByteReader r(results, "rpcbind dump");
  std::vector<RpcbEntry> out;
  while (BERTH_TRY(ValueFollows(r))) {
    BERTH_TRY(CheckEntryCap(out.size()));
    RpcbEntry e;
    e.prog = BERTH_TRY(r.U32Be("r_prog"));
    e.vers = BERTH_TRY(r.U32Be("r_vers"));
    e.netid = BERTH_TRY(XdrString(r, "r_netid"));
    e.uaddr = BERTH_TRY(XdrString(r, "r_addr"));
    e.owner = BERTH_TRY(XdrString(r, "r_owner"));
    if (auto u = ParseUaddr(e.uaddr)) e.port = u->port;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::uint32_t> DecodeGetportResult(std::span<const std::byte> results) {
  ByteReader r(results, "portmap getport");
  return r.U32Be("port");
}

Result<Uaddr> ParseUaddr(std::string_view uaddr) {
  const auto bad = [&] {
    return Fail(ErrorCode::kMalformed, fmt::format("universal address '{}' does not end in .p1.p2", uaddr));
  };
  const std::size_t last = uaddr.rfind('.');
  if (last == std::string_view::npos || last == 0) return bad();
  const std::size_t prev = uaddr.rfind('.', last - 1);
  if (prev == std::string_view::npos) return bad();
  const auto octet = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    if (s.empty() || s.size() > 3) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v > 255) return std::nullopt;
    return v;
  };
  const auto p1 = octet(uaddr.substr(prev + 1, last - prev - 1));
  const auto p2 = octet(uaddr.substr(last + 1));
  if (!p1 || !p2) return bad();
  return Uaddr{std::string(uaddr.substr(0, prev)), static_cast<Port>(*p1 * 256 + *p2)};
}

bool IsInetNetid(std::string_view netid) {
  return netid == "tcp" || netid == "udp" || netid == "tcp6" || netid == "udp6";
}

}  // namespace berth::probe
