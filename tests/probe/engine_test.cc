// The engine against local sockets on 127.0.0.1 (no root): UDP retries inside one timeout,
// the in-flight cap, the global rate, the reply-size cap and connect-only checks.
#include "probe/engine.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "host/unique_fd.h"

namespace berth::probe {
namespace {

using Clock = std::chrono::steady_clock;

// A bound socket on 127.0.0.1 with a kernel-chosen port.
struct Local {
  UniqueFd fd;
  Port port = 0;
};
Local Bind(int type) {
  Local l{UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0)), 0};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  l.port = ntohs(a.sin_port);
  return l;
}

std::size_t Pending(int fd) {  // datagrams waiting on a UDP socket
  std::size_t n = 0;
  char buf[64];
  while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
  return n;
}

TEST(ProbeEngine, SilentUdpCostsOneTimeoutAndRetriesInsideIt) {
  Local silent = Bind(SOCK_DGRAM);
  EngineOptions opt;
  opt.timeout_ms = 400;
  opt.udp_retries = 2;
  Engine e(opt);
  ConversationEnd end;
  Conversation c;
  c.peer = *MakeEndpoint("127.0.0.1", silent.port);
  c.transport = Transport::kUdp;
  c.first = {std::byte{3}};
  c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kTimeout);
  EXPECT_GE(end.seconds, 0.39);
  EXPECT_LT(end.seconds, 0.4 * 1.1 + 0.15);  // jitter is at most 10 %
  EXPECT_EQ(Pending(silent.fd.get()), 3u);   // first send + 2 retries
}

TEST(ProbeEngine, ClosedUdpPortIsRefused) {
  Port closed = 0;
  { closed = Bind(SOCK_DGRAM).port; }  // bound, then closed: ICMP port unreachable
  Engine e(EngineOptions{});
  ConversationEnd end;
  Conversation c;
  c.peer = *MakeEndpoint("127.0.0.1", closed);
  c.transport = Transport::kUdp;
  c.first = {std::byte{3}};
  c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kRefused);
}

TEST(ProbeEngine, InFlightCapAndRate) {
  // 12 silent UDP conversations of 300 ms, at most 4 in flight: at least 3 rounds, 0.9 s.
  Local silent = Bind(SOCK_DGRAM);
  EngineOptions opt;
  opt.timeout_ms = 300;
  opt.udp_retries = 0;
  opt.concurrency = 4;
  opt.rate = 10000;
  Engine e(opt);
  int ended = 0;
  for (int i = 0; i < 12; ++i) {
    Conversation c;
    c.peer = *MakeEndpoint("127.0.0.1", silent.port);
    c.transport = Transport::kUdp;
    c.first = {std::byte{3}};
    c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
    c.on_end = [&](const ConversationEnd&) { ++ended; };
    e.Add(std::move(c));
  }
  const auto t0 = Clock::now();
  ASSERT_TRUE(e.Run());
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(ended, 12);
  EXPECT_GE(s, 0.89);
  EXPECT_LT(s, 3.0);  // loose: a loaded CI machine; the lower bound is the cap

  // Rate: 40 packets at 100 per second take at least ~0.35 s (a 2-packet burst allowed).
  EngineOptions slow;
  slow.timeout_ms = 50;
  slow.udp_retries = 0;
  slow.rate = 100;
  Engine r(slow);
  for (int i = 0; i < 40; ++i) {
    Conversation c;
    c.peer = *MakeEndpoint("127.0.0.1", silent.port);
    c.transport = Transport::kUdp;
    c.first = {std::byte{3}};
    c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
    r.Add(std::move(c));
  }
  const auto t1 = Clock::now();
  ASSERT_TRUE(r.Run());
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - t1).count(), 0.35);
  EXPECT_EQ(r.stats().packets, 40u);
}

TEST(ProbeEngine, TcpReplyOverCapEndsWithError) {
  Local srv = Bind(SOCK_STREAM);
  ASSERT_EQ(::listen(srv.fd.get(), 4), 0);
  std::thread server([&] {
    UniqueFd c(::accept4(srv.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::vector<char> big(100000, 'x');
    (void)::send(c.get(), big.data(), big.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  Engine e(EngineOptions{});
  ConversationEnd end;
  std::size_t largest = 0;
  Conversation c;
  c.peer = *MakeEndpoint("127.0.0.1", srv.port);
  c.transport = Transport::kTcp;
  c.first = {std::byte{1}};
  c.max_message = 1000;
  c.frame = [&](std::span<const std::byte> s) -> Result<std::size_t> {
    largest = std::max(largest, s.size());
    return 0;  // never complete
  };
  c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  server.join();
  EXPECT_EQ(end.kind, EndKind::kError);
  EXPECT_LE(largest, 1000u);
}

TEST(ProbeEngine, ConnectOnlyAndRefused) {
  Local srv = Bind(SOCK_STREAM);
  ASSERT_EQ(::listen(srv.fd.get(), 4), 0);
  Port closed = 0;
  { closed = Bind(SOCK_STREAM).port; }
  Engine e(EngineOptions{});
  std::vector<EndKind> kinds(2);
  for (int i = 0; i < 2; ++i) {
    Conversation c;
    c.peer = *MakeEndpoint("127.0.0.1", i == 0 ? srv.port : closed);
    c.transport = Transport::kTcp;
    c.on_end = [&kinds, i](const ConversationEnd& x) { kinds[static_cast<std::size_t>(i)] = x.kind; };
    e.Add(std::move(c));
  }
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(kinds[0], EndKind::kDone);
  EXPECT_EQ(kinds[1], EndKind::kRefused);
}

}  // namespace
}  // namespace berth::probe
