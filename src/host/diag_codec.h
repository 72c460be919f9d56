// The NETLINK_SOCK_DIAG wire format for inet sockets (linux/inet_diag.h): building a
// SOCK_DIAG_BY_FAMILY dump request and decoding the kernel's replies into SocketRecords.
// Pure functions over bytes: no sockets, fuzzed (tests/fuzz/diag_codec_fuzz.cc) and tested
// on recorded dumps. Netlink headers are host-endian; ports and addresses big-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "core/socket.h"

namespace berth {

// States as a bitmask of (1 << SocketState).
constexpr std::uint32_t kAllStates = (1u << 13) - 2;  // every state 1..12

// A complete netlink message: nlmsghdr + inet_diag_req_v2, NLM_F_REQUEST | NLM_F_DUMP. With
// `local_ports`, an INET_DIAG_REQ_BYTECODE attribute the kernel runs on each socket: only
// sockets whose local port is in the range are sent (a dump split between two threads).
// `family` AF_UNSPEC (TCP only): both families in one dump, through the kernel's older
// TCPDIAG_GETSOCK request (inet_diag_req), whose replies DecodeDiagBatch reads as well.
std::vector<std::byte> BuildDiagRequest(int family, Protocol proto, std::uint32_t states,
                                        std::uint32_t seq,
                                        std::optional<PortRange> local_ports = std::nullopt);

struct DiagBatch {
  bool done = false;         // NLMSG_DONE seen: the dump is complete
  bool interrupted = false;  // NLM_F_DUMP_INTR: the tables changed during the dump
  std::size_t messages = 0;
};

// Decodes one recv()'s worth of netlink messages, appending sockets to `out.sockets` (their
// addresses interned in `out.addresses`). Messages whose
// seq differs from `seq` are skipped. Failure: kMalformed for a truncated or inconsistent
// message (what was decoded before it is kept in `out`); the kernel's NLMSG_ERROR becomes
// the matching errno Error.
[[nodiscard]] Result<DiagBatch> DecodeDiagBatch(std::span<const std::byte> bytes, Protocol proto,
                                                std::uint32_t seq, HostSnapshot& out);

}  // namespace berth
