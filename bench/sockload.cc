// sockload: a socket-load generator for benchmarks. In the current network namespace it
// starts P processes that together hold L TCP listeners and E established loopback
// connections (both ends, so 2E sockets), then prints "ready" and holds them until it
// receives SIGTERM or SIGINT (it then kills its children). Linux only; run it inside a
// namespace of its own (ip netns exec NAME sockload L E P BASE_PORT).
//
// Addresses: listener i is 127.0.0.(1 + i / S):(BASE_PORT + i % S) with S = 65536 - BASE_PORT
// ports per address, so any L fits. Client j binds its own source 127.2.x.y:(kClientPort0 +
// j % kClientPorts) with x.y = 1 + j / kClientPorts before it connects: client ports never come
// from the kernel's ephemeral range, so they cannot take a port a later listener needs (what
// broke 50,000 listeners with 500,000 connections), and every 4-tuple is unique by
// construction (500,000 clients use 9 source addresses).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "sockload: %s: %s\n", what, std::strerror(errno));
  std::_Exit(1);
}

constexpr int kClientPort0 = 1024;
constexpr long kClientPorts = 64000;
constexpr std::uint32_t kClientNet = 0x7f020000;  // 127.2.0.0/16

sockaddr_in Address(std::uint32_t host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(host);
  return a;
}

int g_base = 20000;  // BASE_PORT

// Listener i (over all workers); see the header comment.
sockaddr_in ListenerAddress(int i) {
  const int span = 65536 - g_base;
  return Address(INADDR_LOOPBACK + static_cast<std::uint32_t>(i / span), g_base + i % span);
}
// Client j (over all workers).
sockaddr_in ClientAddress(long j) {
  return Address(kClientNet + 1 + static_cast<std::uint32_t>(j / kClientPorts),
                 kClientPort0 + static_cast<int>(j % kClientPorts));
}

// One worker: listeners [first, first+count) and `conns` connections to them, accepted here,
// from clients [first_client, first_client + conns).
void Worker(int first, int count, long first_client, long conns, int ready_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  rlimit rl{1 << 20, 1 << 20};
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    rl = {65536, 65536};
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::vector<int> listeners;
  for (int i = 0; i < count; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = ListenerAddress(first + i);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("bind listener");
    if (::listen(s, 4096) != 0) Die("listen");
    listeners.push_back(s);
  }
  std::vector<int> held;
  held.reserve(static_cast<std::size_t>(2 * conns));
  // Connect in batches no larger than a backlog, accepting as we go.
  long made = 0;
  while (made < conns) {
    const long batch = std::min<long>(conns - made, 1024);
    for (long k = 0; k < batch; ++k) {
      const int li = static_cast<int>((made + k) % count);
      int c = ::socket(AF_INET, SOCK_STREAM, 0);
      if (c < 0) Die("socket");
      sockaddr_in from = ClientAddress(first_client + made + k);
      if (::bind(c, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) Die("bind client");
      sockaddr_in a = ListenerAddress(first + li);
      if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("connect");
      held.push_back(c);
    }
    for (long k = 0; k < batch; ++k) {
      const int li = static_cast<int>((made + k) % count);
      int c = ::accept(listeners[static_cast<std::size_t>(li)], nullptr, nullptr);
      if (c < 0) Die("accept");
      held.push_back(c);
    }
    made += batch;
  }
  (void)!::write(ready_fd, "x", 1);
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: sockload LISTENERS CONNECTIONS PROCESSES [BASE_PORT]\n");
    return 2;
  }
  const int listeners = std::atoi(argv[1]);
  const long conns = std::atol(argv[2]);
  const int procs = std::atoi(argv[3]);
  const int base = argc > 4 ? std::atoi(argv[4]) : 20000;
  // Listeners fill 127.0.0.1, .2, ... up to 127.0.0.254; clients 127.2.0.1 onwards.
  const long listener_room = 254L * (65536 - base);
  const long client_room = 65000L * kClientPorts;
  if (listeners < procs || procs < 1 || base < 1024 || base > 65535 || listeners > listener_room ||
      conns < 0 || conns > client_room) {
    std::fprintf(stderr, "sockload: need 1 <= PROCESSES <= LISTENERS <= %ld, 1024 <= BASE_PORT <= 65535, "
                 "CONNECTIONS <= %ld\n", listener_room, client_room);
    return 2;
  }
  g_base = base;
  int pipefd[2];
  if (::pipe(pipefd) != 0) Die("pipe");
  std::vector<pid_t> kids;
  int next = 0;        // the first listener of the next worker
  long next_client = 0;
  for (int p = 0; p < procs; ++p) {
    const int count = listeners / procs + (p < listeners % procs ? 1 : 0);
    const long c = conns / procs + (p < conns % procs ? 1 : 0);
    pid_t pid = ::fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      ::close(pipefd[0]);
      Worker(next, count, next_client, c, pipefd[1]);
    }
    kids.push_back(pid);
    next += count;
    next_client += c;
  }
  ::close(pipefd[1]);
  for (int p = 0; p < procs; ++p) {
    char b;
    if (::read(pipefd[0], &b, 1) != 1) {
      std::fprintf(stderr, "sockload: a worker failed\n");
      for (pid_t k : kids) ::kill(k, SIGKILL);
      return 1;
    }
  }
  std::printf("ready %d listeners, %ld connections, %d processes\n", listeners, conns, procs);
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig;
  sigwait(&set, &sig);
  for (pid_t k : kids) ::kill(k, SIGKILL);
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  return 0;
}
