// Dumping this network namespace's inet sockets through NETLINK_SOCK_DIAG. The namespace is
// the calling thread's at the time the SockDiag is created. Not thread-safe: one dump at a
// time per SockDiag (the kernel refuses a second concurrent dump on one socket).
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "core/socket.h"
#include "host/diag_codec.h"
#include "base/unique_fd.h"

namespace berth {

class SockDiag {
 public:
  // Failure: kUnavailable when the kernel has no sock_diag (CONFIG_INET_DIAG off).
  [[nodiscard]] static Result<SockDiag> Open();

  // Appends every socket of (family, proto) whose state is in `states` to `out.sockets`. When `raw`
  // is set, every reply buffer is also appended to it exactly as received (a recording that
  // DecodeDiagBatch replays), including the buffer that failed to decode.
  // Failure: the kernel's error (kNotFound for a missing udp_diag module), kMalformed for
  // an undecodable reply. Sockets decoded before a failure stay in `out`.
  // `local_ports`: only sockets whose local port is in the range (a bytecode filter). `lock`:
  // held while a reply is decoded into `out`, for two dumps filling one snapshot at once.
  [[nodiscard]] Result<DiagBatch> Dump(int family, Protocol proto, std::uint32_t states,
                                       HostSnapshot& out,
                                       std::vector<std::byte>* raw = nullptr,
                                       std::optional<PortRange> local_ports = std::nullopt,
                                       std::mutex* lock = nullptr);

 private:
  explicit SockDiag(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::uint32_t seq_ = 0x62657274;  // "bert"
};

}  // namespace berth
