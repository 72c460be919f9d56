// A server that binds from a thread other than its main one, for berth pin's tests: the
// seccomp engine is told the thread's id, not the process's (docs/pin.md). The main thread
// starts a pthread, which makes a TCP socket, binds it to 127.0.0.1 port 0, listens, and
// prints {"res": <0 or -errno of the bind>, "port": <the port it got>, "pid": P, "tid": T}.
// Modes (argv[1]): "shared" (the default: the thread shares the process's fd table, as every
// pthread does), "own-table" (the thread first takes an fd table of its own with
// unshare(CLONE_FILES) and binds a socket whose number names another socket in the
// process's table), "bad-fd" (the thread binds an fd that is not open: no socket to fetch).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

const char* g_mode = "shared";

void* Bind(void*) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (std::strcmp(g_mode, "own-table") == 0) {
    // Another socket under the same number in the process's table, this one in the thread's.
    if (::unshare(CLONE_FILES) != 0) {
      std::perror("unshare");
      return nullptr;
    }
    const int mine = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (mine < 0 || ::dup2(mine, s) != s) {
      std::perror("socket");
      return nullptr;
    }
    ::close(mine);
  } else if (std::strcmp(g_mode, "bad-fd") == 0) {
    ::close(s);
    s = 1000;  // not open
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int res = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : -errno;
  if (res == 0) ::listen(s, 8);
  sockaddr_in got{};
  socklen_t len = sizeof got;
  const int port = res == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&got), &len) == 0 ? ntohs(got.sin_port) : 0;
  std::printf("{\"res\": %d, \"port\": %d, \"pid\": %d, \"tid\": %ld}\n", res, port, ::getpid(),
              static_cast<long>(::syscall(SYS_gettid)));
  std::fflush(stdout);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_mode = argv[1];
  if (std::strcmp(g_mode, "shared") != 0 && std::strcmp(g_mode, "own-table") != 0 &&
      std::strcmp(g_mode, "bad-fd") != 0) {
    std::fprintf(stderr, "usage: %s [shared|own-table|bad-fd]\n", argv[0]);
    return 2;
  }
  pthread_t t;
  if (pthread_create(&t, nullptr, Bind, nullptr) != 0) return 3;
  pthread_join(t, nullptr);
  return 0;
}
