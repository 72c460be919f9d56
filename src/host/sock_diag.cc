#include "host/sock_diag.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/core.h>

namespace berth {

Result<SockDiag> SockDiag::Open() {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "opening a NETLINK_SOCK_DIAG socket"));
  UniqueFd owned(fd);
  // A large receive buffer lets the kernel run ahead of us on big dumps.
  int rcvbuf = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  return SockDiag(std::move(owned));
}

Result<DiagBatch> SockDiag::Dump(int family, Protocol proto, std::uint32_t states,
                                 HostSnapshot& out, std::vector<std::byte>* raw,
                                 std::optional<PortRange> local_ports, std::mutex* lock) {
  const std::uint32_t seq = ++seq_;
  const std::vector<std::byte> req = BuildDiagRequest(family, proto, states, seq, local_ports);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  while (::sendto(fd_.get(), req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                  sizeof kernel) < 0) {
    if (errno != EINTR) return std::unexpected(ErrnoError(errno, "sending a sock_diag request"));
  }

  // The kernel fills at most 32 KiB per dump message; 64 KiB leaves room and lets us detect
  // truncation with MSG_TRUNC instead of silently losing sockets.
  alignas(8) static thread_local std::byte buf[64 * 1024];
  DiagBatch total;
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd_.get(), &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "reading a sock_diag reply"));
    }
    if (msg.msg_flags & MSG_TRUNC) {
      return Fail(ErrorCode::kMalformed, "sock_diag reply larger than 64 KiB: truncated");
    }
    if (n == 0) return Fail(ErrorCode::kMalformed, "sock_diag: the kernel closed the dump");
    std::unique_lock<std::mutex> held;
    if (lock != nullptr) held = std::unique_lock<std::mutex>(*lock);
    if (raw != nullptr) raw->insert(raw->end(), buf, buf + n);
    auto batch = DecodeDiagBatch(std::span(buf, static_cast<std::size_t>(n)), proto, seq, out);
    if (held) held.unlock();
    if (!batch) return std::unexpected(std::move(batch.error()));
    total.messages += batch->messages;
    total.interrupted |= batch->interrupted;
    if (batch->done) {
      total.done = true;
      return total;
    }
  }
}

}  // namespace berth
