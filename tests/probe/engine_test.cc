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

#include <algorithm>
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
  auto peer = MakeEndpoint("127.0.0.1", silent.port);
  ASSERT_TRUE(peer) << peer.error().message;
  EngineOptions opt;
  opt.timeout_ms = 400;
  opt.udp_retries = 2;
  // The engine's own total deadline is the judge, not the test's clock: retries spread inside
  // one timeout end the conversation with kTimeout at ~400-440 ms; retries that each waited a
  // whole timeout would still be going at 1000 ms and end with kError there.
  opt.total_ms = 1000;
  Engine e(opt);
  ConversationEnd end;
  Conversation c;
  c.peer = *peer;
  c.transport = Transport::kUdp;
  c.first = {std::byte{3}};
  c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kTimeout) << end.detail;
  EXPECT_EQ(end.wait_ms, 400);              // fixed timeouts: the whole --timeout
  EXPECT_GE(end.seconds, 0.39);             // a lower bound: a slow machine only adds to it
  EXPECT_EQ(Pending(silent.fd.get()), 3u);  // first send + 2 retries
}

// Adaptive timeouts: `answering` connect-only TCP checks to a listener (the kernel completes
// each handshake, so each is a round-trip sample with no thread involved) queued before
// `silent` UDP requests to bound sockets that never answer.
struct AdaptiveRun {
  std::vector<ConversationEnd> answered, silent;
  Engine::Stats stats;
};
AdaptiveRun RunAdaptive(EngineOptions opt, int answering, int silent) {
  Local srv = Bind(SOCK_STREAM);
  EXPECT_EQ(::listen(srv.fd.get(), 64), 0);
  std::vector<Local> quiet;
  for (int i = 0; i < silent; ++i) quiet.push_back(Bind(SOCK_DGRAM));
  AdaptiveRun run;
  run.answered.resize(static_cast<std::size_t>(answering));
  run.silent.resize(static_cast<std::size_t>(silent));
  Engine e(opt);
  for (int i = 0; i < answering; ++i) {
    Conversation c;
    c.peer = *MakeEndpoint("127.0.0.1", srv.port);
    c.on_end = [&run, i](const ConversationEnd& x) { run.answered[static_cast<std::size_t>(i)] = x; };
    e.Add(std::move(c));
  }
  for (int i = 0; i < silent; ++i) {
    Conversation c;
    c.peer = *MakeEndpoint("127.0.0.1", quiet[static_cast<std::size_t>(i)].port);
    c.transport = Transport::kUdp;
    c.first = {std::byte{3}};
    c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
    c.on_end = [&run, i](const ConversationEnd& x) { run.silent[static_cast<std::size_t>(i)] = x; };
    e.Add(std::move(c));
  }
  EXPECT_TRUE(e.Run());
  run.stats = e.stats();
  return run;
}

TEST(ProbeEngine, AdaptiveTimeoutShortensSilenceOnceOthersAnswered) {
  EngineOptions opt;
  opt.adaptive = true;
  opt.timeout_ms = 3000;  // a maximum only: the samples come within milliseconds
  opt.adaptive_floor_ms = 100;
  opt.adaptive_min_samples = 3;
  const AdaptiveRun run = RunAdaptive(opt, 4, 4);
  for (const auto& a : run.answered) EXPECT_EQ(a.kind, EndKind::kDone) << a.detail;
  for (const auto& s : run.silent) {
    EXPECT_EQ(s.kind, EndKind::kTimeout) << s.detail;
    EXPECT_GE(s.wait_ms, 100);   // never below the floor
    EXPECT_LT(s.wait_ms, 3000);  // the wait the engine applied, not the test's clock
    EXPECT_NE(s.detail.find("(adaptive)"), std::string::npos) << s.detail;
  }
  EXPECT_EQ(run.stats.timeouts, 4u);
  EXPECT_EQ(run.stats.shortened, 4u);
  EXPECT_GE(run.stats.rtt_samples, 4u);
  EXPECT_GE(run.stats.shortest_wait_ms, 100);
  EXPECT_LT(run.stats.longest_wait_ms, 3000);
}

TEST(ProbeEngine, AdaptiveTimeoutKeepsTheFullWaitUntilEnoughSamples) {
  EngineOptions opt;
  opt.adaptive = true;
  opt.timeout_ms = 300;
  opt.adaptive_min_samples = 3;
  const AdaptiveRun run = RunAdaptive(opt, 2, 2);  // two samples: not enough
  for (const auto& s : run.silent) {
    EXPECT_EQ(s.kind, EndKind::kTimeout) << s.detail;
    EXPECT_EQ(s.wait_ms, 300);
  }
  EXPECT_EQ(run.stats.rtt_samples, 2u);
  EXPECT_EQ(run.stats.shortened, 0u);
}

TEST(ProbeEngine, FixedTimeoutIgnoresSamples) {
  EngineOptions opt;  // adaptive = false
  opt.timeout_ms = 300;
  const AdaptiveRun run = RunAdaptive(opt, 4, 2);
  for (const auto& s : run.silent) EXPECT_EQ(s.wait_ms, 300) << s.detail;
  EXPECT_EQ(run.stats.shortened, 0u);
  EXPECT_EQ(run.stats.longest_wait_ms, 300);
}

TEST(ProbeEngine, ClosedUdpPortIsRefused) {
  Port closed = 0;
  { closed = Bind(SOCK_DGRAM).port; }  // bound, then closed: ICMP port unreachable
  auto peer = MakeEndpoint("127.0.0.1", closed);
  ASSERT_TRUE(peer) << peer.error().message;
  Engine e(EngineOptions{});
  ConversationEnd end;
  Conversation c;
  c.peer = *peer;
  c.transport = Transport::kUdp;
  c.first = {std::byte{3}};
  c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kRefused);
}

TEST(ProbeEngine, InFlightCapAndRate) {
  // 12 silent UDP conversations, at most 4 in flight. The cap is read from the engine itself:
  // on_end runs inside Run() before the freed slot is refilled, so started - ended (counting
  // the one ending) is what was in flight at that moment.
  Local silent = Bind(SOCK_DGRAM);
  auto peer = MakeEndpoint("127.0.0.1", silent.port);
  ASSERT_TRUE(peer) << peer.error().message;
  EngineOptions opt;
  opt.timeout_ms = 300;
  opt.udp_retries = 0;
  opt.concurrency = 4;
  opt.rate = 10000;
  Engine e(opt);
  std::size_t ended = 0;
  std::size_t most_in_flight = 0;
  for (int i = 0; i < 12; ++i) {
    Conversation c;
    c.peer = *peer;
    c.transport = Transport::kUdp;
    c.first = {std::byte{3}};
    c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
    c.on_end = [&](const ConversationEnd&) {
      most_in_flight = std::max(most_in_flight, e.stats().started - ended);
      ++ended;
    };
    e.Add(std::move(c));
  }
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(ended, 12u);
  EXPECT_EQ(e.stats().started, 12u);
  EXPECT_EQ(most_in_flight, 4u) << "the cap is 4, and 12 conversations fill it";

  // Rate: 40 packets at 100 per second take at least ~0.35 s (a 2-packet burst allowed).
  EngineOptions slow;
  slow.timeout_ms = 50;
  slow.udp_retries = 0;
  slow.rate = 100;
  Engine r(slow);
  for (int i = 0; i < 40; ++i) {
    Conversation c;
    c.peer = *peer;
    c.transport = Transport::kUdp;
    c.first = {std::byte{3}};
    c.on_message = [](std::span<const std::byte>) { return Next::Done(); };
    r.Add(std::move(c));
  }
  const auto t1 = Clock::now();
  ASSERT_TRUE(r.Run());
  // A lower bound only: a loaded machine makes the run longer, never shorter.
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - t1).count(), 0.35);
  EXPECT_EQ(r.stats().packets, 40u);
}

// Sets SO_RCVTIMEO (accept and recv) to `seconds`: a hang guard for a test's server thread.
void HangGuard(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

TEST(ProbeEngine, TcpReplyOverCapEndsWithError) {
  Local srv = Bind(SOCK_STREAM);
  ASSERT_EQ(::listen(srv.fd.get(), 4), 0);
  auto peer = MakeEndpoint("127.0.0.1", srv.port);
  ASSERT_TRUE(peer) << peer.error().message;
  HangGuard(srv.fd.get(), 30);
  std::thread server([&] {
    UniqueFd c(::accept4(srv.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c.valid()) return;
    HangGuard(c.get(), 30);
    std::vector<char> big(100000, 'x');
    (void)::send(c.get(), big.data(), big.size(), MSG_NOSIGNAL);
    // Hold the connection open until the engine closes its end, so that it must end the
    // conversation on the cap and cannot see our close first.
    char b[4096];
    while (::recv(c.get(), b, sizeof b, 0) > 0) {
    }
  });
  Engine e(EngineOptions{});
  ConversationEnd end;
  std::size_t largest = 0;
  Conversation c;
  c.peer = *peer;
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
  const auto ran = e.Run();
  server.join();  // before any ASSERT can leave the test with the thread still joinable
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_EQ(end.kind, EndKind::kError) << end.detail;
  EXPECT_LE(largest, 1000u);
}

TEST(ProbeEngine, ConnectOnlyAndRefused) {
  Local srv = Bind(SOCK_STREAM);
  ASSERT_EQ(::listen(srv.fd.get(), 4), 0);
  Port closed = 0;
  { closed = Bind(SOCK_STREAM).port; }
  auto open_peer = MakeEndpoint("127.0.0.1", srv.port);
  ASSERT_TRUE(open_peer) << open_peer.error().message;
  auto closed_peer = MakeEndpoint("127.0.0.1", closed);
  ASSERT_TRUE(closed_peer) << closed_peer.error().message;
  Engine e(EngineOptions{});
  std::vector<EndKind> kinds(2);
  for (int i = 0; i < 2; ++i) {
    Conversation c;
    c.peer = i == 0 ? *open_peer : *closed_peer;
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
// subnet would, with `reply_size` bytes: `replies` times per request, the first after `delay`
// and each further one `delay` after the last. Stops when destroyed. The delay is the
// behaviour under test (a late or a chatty host), never a wait for something to be ready:
// the sockets are bound before the constructor returns, so a request sent after it is queued.
class BroadcastResponder {
 public:
  BroadcastResponder(Port port, const char* reply_from, std::chrono::milliseconds delay, std::size_t reply_size,
                     int replies = 1)
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
    thread_ = std::thread([this, delay, reply_size, replies] {
      const std::vector<char> reply(reply_size, 'r');
      while (!stop_) {
        char buf[64];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        if (::recvfrom(in_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) <= 0) continue;
        ++requests_;
        for (int i = 0; i < replies && !stop_; ++i) {
          std::this_thread::sleep_for(delay);
          (void)::sendto(out_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
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
  auto peer = MakeEndpoint("127.255.255.255", port);
  ASSERT_TRUE(peer) << peer.error().message;
  EngineOptions opt;
  opt.timeout_ms = 600;
  opt.udp_retries = 1;
  Engine e(opt);
  std::multiset<std::string> senders;
  ConversationEnd end;
  Conversation c;
  c.peer = *peer;
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
  // A lower bound only; that replies do not extend the listening is RepliesDoNotExtend...'s.
  EXPECT_GE(end.seconds, 0.59) << "a broadcast listens for the whole timeout, not to the first reply";
  // Resent once inside the timeout, as any UDP request: each responder answered twice.
  EXPECT_EQ(e.stats().packets, 2u);
  EXPECT_EQ(quick.requests(), 2);
  EXPECT_EQ(late.requests(), 2);
  EXPECT_EQ(senders, (std::multiset<std::string>{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"}));
  EXPECT_NE(end.detail.find("2 replies over the cap of 1000 bytes dropped"), std::string::npos) << end.detail;
}

// A host that keeps answering (every 50 ms, 200 times: 10 s) does not extend a broadcast: it
// ends at its ~0.6 s timeout while the host is still talking. Were each reply to restart the
// timer, the conversation would last until the host fell silent and would have read all 200
// replies; the count, not a clock, tells the two apart (the 10 s are 15x the expected run, a
// margin no loaded machine eats).
TEST(ProbeEngine, RepliesDoNotExtendABroadcast) {
  const Port port = Bind(SOCK_DGRAM).port;  // a free port, released again
  constexpr int kChatter = 200;
  BroadcastResponder chatty(port, "127.0.0.2", std::chrono::milliseconds(50), 10, kChatter);
  ASSERT_TRUE(chatty.bound()) << "no broadcast route on lo?";
  auto peer = MakeEndpoint("127.255.255.255", port);
  ASSERT_TRUE(peer) << peer.error().message;
  EngineOptions opt;
  opt.timeout_ms = 600;
  opt.udp_retries = 0;
  Engine e(opt);
  ConversationEnd end;
  int replies = 0;
  Conversation c;
  c.peer = *peer;
  c.transport = Transport::kUdp;
  c.broadcast = true;
  c.first = {std::byte{2}};
  c.on_reply = [&](const Endpoint&, std::span<const std::byte>) { ++replies; };
  c.on_end = [&](const ConversationEnd& x) { end = x; };
  e.Add(std::move(c));
  ASSERT_TRUE(e.Run());
  EXPECT_EQ(end.kind, EndKind::kDone) << end.detail;  // the chatty host was heard
  EXPECT_LT(replies, kChatter) << "the broadcast ran until the responder fell silent";
}

TEST(ProbeEngine, UnansweredBroadcastTimesOut) {
  const Port port = Bind(SOCK_DGRAM).port;
  auto peer = MakeEndpoint("127.255.255.255", port);
  ASSERT_TRUE(peer) << peer.error().message;
  EngineOptions opt;
  opt.timeout_ms = 300;
  Engine e(opt);
  ConversationEnd end;
  int replies = 0;
  Conversation c;
  c.peer = *peer;
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
