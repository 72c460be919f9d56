// ONC RPC v2 (RFC 5531) and portmap/rpcbind (RFC 1833) on the wire: CALL messages, TCP
// record marking, REPLY headers, PMAP v2 and RPCBIND v3/v4 DUMP lists, universal addresses.
// Pure functions over bytes (no I/O, no state); every untrusted byte goes through ByteReader
// and every list and string is capped before anything is allocated. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::probe {

inline constexpr std::uint32_t kRpcbProgram = 100000;
inline constexpr std::uint32_t kRpcProcNull = 0;
inline constexpr std::uint32_t kRpcbProcGetaddr = 3;  // GETPORT in v2
inline constexpr std::uint32_t kRpcbProcDump = 4;
inline constexpr Port kRpcbPort = 111;

// Caps on what a reply may make us hold (nmap gives up after 400 fragments).
inline constexpr std::size_t kMaxRpcRecord = 1 << 20;
inline constexpr std::size_t kMaxRpcFragments = 400;
inline constexpr std::size_t kMaxRpcbEntries = 4096;
inline constexpr std::size_t kMaxXdrString = 1024;

// A CALL with AUTH_NONE credential and verifier, followed by `args` (already XDR).
std::vector<std::byte> EncodeRpcCall(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                                     std::uint32_t proc, std::span<const std::byte> args = {});

// Wraps one message as a single last fragment (RFC 5531 §11). Precondition: size < 2^31.
std::vector<std::byte> EncodeRecord(std::span<const std::byte> message);

// PMAP v2 GETPORT arguments: prog, vers, prot (6 or 17), port 0.
std::vector<std::byte> EncodeGetportArgs(std::uint32_t prog, std::uint32_t vers, Protocol proto);

// Record-marking reassembly over a TCP byte stream. `complete` is false while more bytes are
// needed; once true, `record` holds the concatenated fragment bodies and `consumed` the bytes
// of stream they used. Failure (kMalformed): a record over `max_record` bytes or more than
// `max_fragments` fragments, decided from the headers before any body is copied.
struct RecordScan {
  bool complete = false;
  std::size_t consumed = 0;
  std::vector<std::byte> record;
};
[[nodiscard]] Result<RecordScan> ScanRecord(std::span<const std::byte> stream,
                                            std::size_t max_record = kMaxRpcRecord,
                                            std::size_t max_fragments = kMaxRpcFragments);

enum class RpcReplyKind {
  kSuccess,       // accepted, SUCCESS: `results` holds the procedure's results
  kProgUnavail,   // accepted, PROG_UNAVAIL
  kProgMismatch,  // accepted, PROG_MISMATCH: low..high are the versions served
  kProcUnavail,
  kGarbageArgs,
  kSystemErr,
  kRpcMismatch,   // denied, RPC_MISMATCH: low..high
  kAuthError,     // denied, AUTH_ERROR: auth_stat
};
std::string_view RpcReplyKindName(RpcReplyKind k);

struct RpcReply {
  std::uint32_t xid = 0;
  RpcReplyKind kind = RpcReplyKind::kSuccess;
  std::uint32_t low = 0, high = 0, auth_stat = 0;
  std::span<const std::byte> results;  // a view into the decoded message
};

// Decodes a REPLY message (no record mark). Failure (kMalformed): not a REPLY, an unknown
// reply/accept/reject status, a verifier over 400 bytes, or short input.
[[nodiscard]] Result<RpcReply> DecodeRpcReply(std::span<const std::byte> message);

// One registration. For v2 the netid is "tcp"/"udp" (from prot) and uaddr is empty.
struct RpcbEntry {
  std::uint32_t prog = 0;
  std::uint32_t vers = 0;
  std::string netid;
  std::string uaddr;
  std::string owner;
  std::optional<Port> port;  // nullopt when the uaddr has no parsable port (e.g. "local")
  friend bool operator==(const RpcbEntry&, const RpcbEntry&) = default;
};

// DUMP results. Failure (kMalformed): short input, a string over kMaxXdrString, more than
// kMaxRpcbEntries entries, a bool that is neither 0 nor 1, or a v2 prot/port out of range.
[[nodiscard]] Result<std::vector<RpcbEntry>> DecodePmapDump(std::span<const std::byte> results);
[[nodiscard]] Result<std::vector<RpcbEntry>> DecodeRpcbDump(std::span<const std::byte> results);

// PMAP v2 GETPORT result: 0 means not registered.
[[nodiscard]] Result<std::uint32_t> DecodeGetportResult(std::span<const std::byte> results);

// A universal address "h1.h2.h3.h4.p1.p2" or "x:x::x.p1.p2", split at the last two dots.
struct Uaddr {
  std::string host;
  Port port = 0;
};
// Failure (kMalformed): fewer than two dots, or p1/p2 not decimal 0..255.
[[nodiscard]] Result<Uaddr> ParseUaddr(std::string_view uaddr);

// True for the netids berth probes: tcp, udp, tcp6, udp6 (drops "local" and others).
bool IsInetNetid(std::string_view netid);

}  // namespace berth::probe
