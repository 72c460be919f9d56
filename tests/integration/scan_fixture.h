// Shared pieces of the scan integration tests: servers in child processes (optionally in a
// network namespace), and reading `berth scan --json`.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "support/test_support.h"

namespace berth::test {

struct Bind {
  int type;          // SOCK_STREAM or SOCK_DGRAM
  int family;        // AF_INET or AF_INET6
  const char* addr;  // "0.0.0.0", "::1", ...
  std::uint16_t port;
  bool v6only = false;
};

// Opens the socket (listening for TCP); returns the fd or -1.
inline int OpenBound(const Bind& b) {
  int s = ::socket(b.family, b.type | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (b.family == AF_INET6) {
    int v6 = b.v6only ? 1 : 0;
    ::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(b.port);
    inet_pton(AF_INET6, b.addr, &a.sin6_addr);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(b.port);
    inet_pton(AF_INET, b.addr, &a.sin_addr);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  }
  if (b.type == SOCK_STREAM && ::listen(s, 128) != 0) return -1;
  return s;
}

// A TCP connection from this process to 127.0.0.1:port; the fd, or -1.
inline int ConnectLoopback(std::uint16_t port) {
  int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(c);
    return -1;
  }
  return c;
}

// A child named `comm` (what /proc/PID/comm shows) that enters `netns` (if any) and holds
// the given servers until killed.
inline Child ServeInChild(const std::string& comm, const Netns* netns, std::vector<Bind> binds) {
  return Child::Fork([comm, netns, binds](int ready) {
    ::prctl(PR_SET_NAME, comm.c_str());
    if (netns && !netns->EnterThread()) ::_exit(3);
    for (const Bind& b : binds) {
      if (OpenBound(b) < 0) ::_exit(4);
    }
    (void)!::write(ready, "x", 1);
  });
}

// A TCP listener on 127.0.0.1:port inside `ns`, held by a child until the Child is destroyed.
inline Child ListenOnLoopback(const Netns& ns, std::uint16_t port) {
  Child c = ServeInChild("listener", &ns, {{SOCK_STREAM, AF_INET, "127.0.0.1", port}});
  EXPECT_TRUE(c.WaitReady()) << "listener on " << port << " did not start";
  return c;
}

inline nlohmann::json ParseJson(const CommandResult& r) {
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

using SocketKey = std::tuple<std::string, std::string, int>;  // proto, address, port

// The readers below take a document that may be wrong: they use at(), which throws (gtest
// fails the one test) where a const operator[] on a missing key would abort the binary.
inline std::set<SocketKey> SocketSet(const nlohmann::json& scan) {
  std::set<SocketKey> out;
  for (const auto& s : scan.at("sockets")) {
    out.emplace(s.at("proto").get<std::string>(), s.at("address").get<std::string>(), s.at("port").get<int>());
  }
  return out;
}

inline const nlohmann::json* FindSocket(const nlohmann::json& scan, const std::string& proto,
                                        const std::string& addr, int port) {
  for (const auto& s : scan.at("sockets")) {
    if (s.at("proto") == proto && s.at("address") == addr && s.at("port") == port) return &s;
  }
  return nullptr;
}

inline std::vector<nlohmann::json> FindingsWithId(const nlohmann::json& scan, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (const auto& f : scan.at("findings")) {
    if (f.at("id") == id) out.push_back(f);
  }
  return out;
}

}  // namespace berth::test
