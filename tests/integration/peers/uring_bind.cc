// A server that binds through io_uring (IORING_OP_BIND, Linux 6.11), for berth pin's tests:
// socket(2), then the bind as an io_uring request. With "4" or "6": one socket of that family
// on loopback, port 0; prints {"res": <the bind's result>, "port": <the port it got>} and exits.
// With "listen": an IPv4 and an IPv6 socket on loopback, port 0, each bound through io_uring
// and listening; prints {"res4": .., "port4": .., "res6": .., "port6": ..} once both listen
// (the line is the test's readiness signal), then waits for a signal to end it. Raw syscalls:
// Debian 12's headers predate IORING_OP_BIND, so the opcode is spelled out here.
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
constexpr std::uint8_t kOpBind = 56;  // IORING_OP_BIND

template <class T>
T* At(void* base, std::uint32_t off) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + off);
}

// One io_uring, mapped; exits 3 when it cannot be set up.
struct Ring {
  io_uring_params p{};
  int fd = -1;
  void* sq = nullptr;
  void* cq = nullptr;
  io_uring_sqe* sqes = nullptr;

  Ring() {
    fd = static_cast<int>(::syscall(__NR_io_uring_setup, 4, &p));
    if (fd < 0) {
      std::perror("io_uring_setup");
      std::exit(3);
    }
    const std::size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(std::uint32_t);
    const std::size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    sq = ::mmap(nullptr, sq_size > cq_size ? sq_size : cq_size, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    cq = (p.features & IORING_FEAT_SINGLE_MMAP)
             ? sq
             : ::mmap(nullptr, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                      IORING_OFF_CQ_RING);
    sqes = static_cast<io_uring_sqe*>(::mmap(nullptr, p.sq_entries * sizeof(io_uring_sqe),
                                             PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                                             IORING_OFF_SQES));
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
      std::perror("mmap");
      std::exit(3);
    }
  }

  // Binds `s` to `addr` through the ring; the completion's result (0 or -errno).
  int Bind(int s, const sockaddr_storage& addr, socklen_t len) {
    auto* tail = At<std::atomic<std::uint32_t>>(sq, p.sq_off.tail);
    const std::uint32_t mask = *At<std::uint32_t>(sq, p.sq_off.ring_mask);
    const std::uint32_t t = tail->load(std::memory_order_acquire);
    io_uring_sqe& e = sqes[t & mask];
    std::memset(&e, 0, sizeof e);
    e.opcode = kOpBind;
    e.fd = s;
    e.addr = reinterpret_cast<std::uintptr_t>(&addr);
    e.addr2 = len;
    At<std::uint32_t>(sq, p.sq_off.array)[t & mask] = t & mask;
    tail->store(t + 1, std::memory_order_release);
    if (::syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0) {
      std::perror("io_uring_enter");
      std::exit(3);
    }
    auto* head = At<std::atomic<std::uint32_t>>(cq, p.cq_off.head);
    const std::uint32_t h = head->load(std::memory_order_acquire);
    const io_uring_cqe& c =
        At<io_uring_cqe>(cq, p.cq_off.cqes)[h & *At<std::uint32_t>(cq, p.cq_off.ring_mask)];
    const int res = c.res;
    head->store(h + 1, std::memory_order_release);
    return res;
  }
};

struct Bound {
  int fd = -1;
  int res = 0;
  int port = 0;
};

// A TCP socket of the family bound to loopback port 0 through `ring`.
Bound BindLoopback(Ring& ring, bool v6) {
  Bound b;
  b.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage addr{};
  socklen_t len;
  if (v6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a4;
  }
  b.res = ring.Bind(b.fd, addr, len);
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(b.fd, reinterpret_cast<sockaddr*>(&got), &got_len);
  b.port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Ring ring;
  if (argc > 1 && std::strcmp(argv[1], "listen") == 0) {
    const Bound b4 = BindLoopback(ring, false);
    const Bound b6 = BindLoopback(ring, true);
    if ((b4.res == 0 && ::listen(b4.fd, 8) != 0) || (b6.res == 0 && ::listen(b6.fd, 8) != 0)) {
      std::perror("listen");
      return 3;
    }
    std::printf("{\"res4\": %d, \"port4\": %d, \"res6\": %d, \"port6\": %d}\n", b4.res, b4.port,
                b6.res, b6.port);
    std::fflush(stdout);
    for (;;) ::pause();  // until a signal ends it
  }
  const Bound b = BindLoopback(ring, argc > 1 && std::strcmp(argv[1], "6") == 0);
  std::printf("{\"res\": %d, \"port\": %d}\n", b.res, b.port);
  return 0;
}
