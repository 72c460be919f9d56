// The pinned side of bench/pin-bench (docs/benchmarks.md): what `berth pin` costs the server.
//   bindloop bind N   N times: socket, SO_REUSEADDR, bind to port 0, close; prints the mean ns per bind and
//                     the port the first bind got (the registered one when pinned)
//   bindloop echo N   one listener bound to port 0, one client connection to it, N round trips
//                     of 64 bytes over loopback; prints the mean ns per round trip
// No berth code: it is the program being pinned.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

int Die(const char* what) {
  std::perror(what);
  return 2;
}

int BindLoop(long n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int first = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return Die("socket");
    int reuse = 1;  // as servers do (see EchoLoop)
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Die("bind");
    if (i == 0) {
      sockaddr_in got{};
      socklen_t len = sizeof got;
      ::getsockname(s, reinterpret_cast<sockaddr*>(&got), &len);
      first = ntohs(got.sin_port);
    }
    ::close(s);
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bind port=%d mean_ns=%.0f\n", first, static_cast<double>(ns) / static_cast<double>(n));
  return 0;
}

bool Exact(int fd, char* buf, std::size_t len, bool write) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t r = write ? ::write(fd, buf + done, len - done) : ::read(fd, buf + done, len - done);
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

int EchoLoop(long n) {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // As servers do: a pinned listener's port may still have TIME-WAIT connections of the last run.
  int reuse = 1;
  ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 1) != 0) return Die("listen");
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread server([l, n] {
    const int c = ::accept(l, nullptr, nullptr);
    char buf[64];
    for (long i = 0; i < n && Exact(c, buf, sizeof buf, false) && Exact(c, buf, sizeof buf, true); ++i) {
    }
    ::close(c);
  });
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Die("connect");
  int one = 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[64] = {};
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (!Exact(c, buf, sizeof buf, true) || !Exact(c, buf, sizeof buf, false)) return Die("echo");
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  ::close(c);
  server.join();
  std::printf("echo port=%d mean_ns=%.0f\n", ntohs(a.sin_port), static_cast<double>(ns) / static_cast<double>(n));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bindloop bind|echo N\n");
    return 2;
  }
  const long n = std::atol(argv[2]);
  if (n <= 0) return 2;
  if (std::strcmp(argv[1], "bind") == 0) return BindLoop(n);
  if (std::strcmp(argv[1], "echo") == 0) return EchoLoop(n);
  std::fprintf(stderr, "usage: bindloop bind|echo N\n");
  return 2;
}
