// berth pin's last-resort engine: a shared library put in LD_PRELOAD of the pinned command.
// Its bind() moves a bind of the pinned protocol(s) to port 0 onto the static port and calls
// the real bind. It is loaded into foreign programs, so it uses libc only (no libberth, no
// sanitizer runtime), allocates nothing and never prints. What it cannot see, by design:
// raw syscall(SYS_bind), statically linked programs (no dynamic loader), io_uring binds, and
// programs that clear LD_PRELOAD (docs/pin.md; tests assert the static miss).
//   BERTH_PIN_PORT   the static port (1-65535); without it the shim does nothing
//   BERTH_PIN_PROTO  tcp, udp or both (default tcp)
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace {

using BindFn = int (*)(int, const sockaddr*, socklen_t);

struct Config {
  unsigned short port = 0;  // host order; 0: inactive
  bool tcp = true;
  bool udp = false;
};

Config Load() {
  Config c;
  const char* port = std::getenv("BERTH_PIN_PORT");
  if (port == nullptr) return c;
  char* end = nullptr;
  const long p = std::strtol(port, &end, 10);
  if (end == port || *end != '\0' || p < 1 || p > 65535) return c;
  c.port = static_cast<unsigned short>(p);
  if (const char* proto = std::getenv("BERTH_PIN_PROTO")) {
    c.tcp = std::strcmp(proto, "tcp") == 0 || std::strcmp(proto, "both") == 0;
    c.udp = std::strcmp(proto, "udp") == 0 || std::strcmp(proto, "both") == 0;
  }
  return c;
}

const Config& Get() {
  static const Config config = Load();
  return config;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int bind(int fd, const sockaddr* addr,
                                                           socklen_t len) {
  static const auto real = reinterpret_cast<BindFn>(::dlsym(RTLD_NEXT, "bind"));
  const Config& c = Get();
  if (c.port == 0 || addr == nullptr) return real(fd, addr, len);
  int proto = 0;
  socklen_t plen = sizeof proto;
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) != 0 ||
      !((proto == IPPROTO_TCP && c.tcp) || (proto == IPPROTO_UDP && c.udp))) {
    return real(fd, addr, len);
  }
  if (addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in a;
    std::memcpy(&a, addr, sizeof a);
    if (a.sin_port == 0) {
      a.sin_port = htons(c.port);
      return real(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    }
  } else if (addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 a;
    std::memcpy(&a, addr, sizeof a);
    if (a.sin6_port == 0) {
      a.sin6_port = htons(c.port);
      return real(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    }
  }
  return real(fd, addr, len);
}
