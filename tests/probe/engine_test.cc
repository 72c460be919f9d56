// The engine against local sockets on 127.0.0.1 (no root): UDP retries inside one timeout,
// the in-flight cap, the global rate, the reply-size cap and connect-only checks; and a
// broadcast to 127.255.255.255 (loopback's own broadcast address) answered from 127.0.0.x.
#include "probe/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "base/unique_fd.h"

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

// A responder to a broadcast: receives on 127.255.255.255:port (SO_REUSEADDR, so several
// share it; each gets its own copy) and answers from its own unicast address, as a host on a
// subnet would, after `delay` and with `reply_size` bytes. Stops when destroyed.
class BroadcastResponder {
 public:
  BroadcastResponder(Port port, const char* reply_from, std::chrono::milliseconds delay, std::size_t reply_size)
      : in_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)), out_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    const int one = 1;
    ::setsockopt(in_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    timeval tv{0, 50000};  // the loop checks stop_ every 50 ms
    ::setsockopt(in_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(0x7fffffff);  // 127.255.255.255
    bound_ = ::bind(in_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    a.sin_port = 0;
    ::inet_pton(AF_INET, reply_from, &a.sin_addr);
    bound_ = bound_ && ::bind(out_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    thread_ = std::thread([this, delay, reply_size] {
      const std::vector<char> reply(reply_size, 'r');
      while (!stop_) {
        char buf[64];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        if (::recvfrom(in_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) <= 0) continue;
        ++requests_;
        std::this_thread::sleep_for(delay);
        (void)::sendto(out_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~BroadcastResponder() {
    stop_ = true;
    thread_.join();
  }
  bool bound() const { return bound_; }
  int requests() const { return requests_; }

 private:
  UniqueFd in_, out_;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST(ProbeEngine, BroadcastCollectsEverySenderUntilTheTimeout) {
  const Port port = Bind(SOCK_DGRAM).port;  // a free port, released again
  using std::chrono::milliseconds;
  BroadcastResponder quick(port, "127.0.0.2", milliseconds(0), 10);
  BroadcastResponder late(port, "127.0.0.3", milliseconds(150), 20);
  BroadcastResponder huge(port, "127.0.0.4", milliseconds(0), 2000);  // over the cap below
  ASSERT_TRUE(quick.bound() && late.bound() && huge.bound()) << "no broadcast route on lo?";
  EngineOptions opt;
  opt.timeout_ms = 600;
  opt.udp_retries = 1;
  Engine e(opt);
  std::multiset<std::string> senders;
  ConversationEnd end;
  Conversation c;
  c.peer = *MakeEndpoint("127.255.255.255", port);
  c.transport = Transport::kUdp;
  c.broadcast = true;
  c.first = {std::byte{2}};
  c.max_message = 1000;
  c.on_reply = [&](const Endpoint& from, std::span<const std::byte> msg) {
    EXPECT_LE(msg.size(), 1000u);
    senders.insert(EndpointHost(from));
  };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kDone) << end.detail;
  EXPECT_GE(end.seconds, 0.59) << "a broadcast listens for the whole timeout, not to the first reply";
  EXPECT_LT(end.seconds, 0.6 * 1.1 + 0.2);
  // Resent once inside the timeout, as any UDP request: each responder answered twice.
  EXPECT_EQ(e.stats().packets, 2u);
  EXPECT_EQ(quick.requests(), 2);
  EXPECT_EQ(late.requests(), 2);
  EXPECT_EQ(senders, (std::multiset<std::string>{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"}));
  EXPECT_NE(end.detail.find("2 replies over the cap of 1000 bytes dropped"), std::string::npos) << end.detail;
}

TEST(ProbeEngine, UnansweredBroadcastTimesOut) {
  const Port port = Bind(SOCK_DGRAM).port;
  EngineOptions opt;
  opt.timeout_ms = 300;
  Engine e(opt);
  ConversationEnd end;
  int replies = 0;
  Conversation c;
  c.peer = *MakeEndpoint("127.255.255.255", port);
  c.transport = Transport::kUdp;
  c.broadcast = true;
  c.first = {std::byte{2}};
  c.on_reply = [&](const Endpoint&, std::span<const std::byte>) { ++replies; };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kTimeout);
  EXPECT_EQ(replies, 0);
  EXPECT_GE(end.seconds, 0.29);
}

}  // namespace
}  // namespace berth::probe
