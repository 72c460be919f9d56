// Engine: see engine.h. One epoll instance; each active conversation owns one socket
// (connected, except for a broadcast). Timers are the deadlines of the active slots, scanned
// each turn (the slot count is the concurrency cap, so the scan is bounded).
#include "probe/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>

#include <fmt/core.h>

#include "base/unique_fd.h"
#include "probe/rtt_estimator.h"

namespace berth::probe {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kUdpBuffer = 65538;  // the largest SSRP reply plus one byte to spot overflow
constexpr std::size_t kTcpChunk = 16384;

}  // namespace

Result<Endpoint> MakeEndpoint(std::string_view address, Port port) {
  Endpoint e;
  const std::string text(address);
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&e.addr, &v4, sizeof v4);
    e.len = sizeof v4;
    e.text = fmt::format("{}:{}", text, port);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&e.addr, &v6, sizeof v6);
    e.len = sizeof v6;
    e.text = fmt::format("[{}]:{}", text, port);
  } else {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("'{}' is not a numeric IPv4 or IPv6 address", text));
  }
  return e;
}

std::string EndpointHost(const Endpoint& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (e.addr.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &e.addr, sizeof v4);
    ::inet_ntop(AF_INET, &v4.sin_addr, buf, sizeof buf);
  } else {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &e.addr, sizeof v6);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, buf, sizeof buf);
  }
  return buf;
}

Endpoint WithPort(const Endpoint& e, Port port) {
  return *MakeEndpoint(EndpointHost(e), port);  // the host part came from MakeEndpoint
}

std::string_view EndKindName(EndKind k) {
  switch (k) {
    case EndKind::kDone: return "done";
    case EndKind::kTimeout: return "timeout";
    case EndKind::kRefused: return "refused";
    case EndKind::kClosed: return "closed";
    case EndKind::kError: return "error";
  }
  return "unknown";
}

struct Engine::Impl {
  struct Active {
    Conversation conv;
    UniqueFd fd;
    bool connecting = false;
    std::vector<std::byte> out;
    std::size_t out_off = 0;
    std::vector<std::byte> in;
    Clock::time_point started;
    Clock::time_point deadline;
    Clock::time_point hard_deadline;  // the conversation's total deadline: never moves
    std::size_t unmatched = 0;        // replies that answered none of our requests
    int tries_left = 0;
    bool retry_pending = false;  // UDP: timed out, waiting for a rate token to resend
    std::uint32_t generation = 0;
    std::size_t replies = 0, oversized = 0;  // broadcast: datagrams passed on, and dropped
    // The first step (a TCP connect, or a UDP request until its first reply) waits as long as
    // the round trips seen say (EngineOptions::adaptive); the deadline is recomputed from
    // try_sent while it waits, so it shrinks as samples come in.
    bool first_step = false;
    bool resent = false;                  // a UDP resend happened in the first step (Karn)
    Clock::time_point try_sent;           // when the current try of the first step went out
    double jitter_factor = 1;             // this conversation's share of the jitter
    Micros* host_max_rtt = nullptr;       // the slowest round trip seen from the peer's host
  };

  EngineOptions opt;
  Stats* stats;
  UniqueFd ep;
  std::deque<Conversation> queue;
  std::vector<std::unique_ptr<Active>> slots;  // nullptr = free
  std::vector<std::uint32_t> generations;
  std::vector<std::size_t> free_slots;
  std::size_t active = 0;
  std::size_t added = 0, ended = 0;  // conversations, for on_progress
  std::vector<std::byte> udp_buf;
  std::mt19937 rng{std::random_device{}()};
  double tokens = 1;
  Clock::time_point refilled = Clock::now();
  RttEstimator rtt{RttLimits{}};
  std::unordered_map<std::string, Micros> host_max_rtt;  // by the peer's numeric host

  Micros FullWait() const { return std::chrono::milliseconds(opt.timeout_ms); }

  // The step timeout of `a` now, before jitter and before the UDP tries' share.
  Micros StepWait(const Active& a) const {
    if (!opt.adaptive || !a.first_step || !rtt.adapted()) return FullWait();
    return std::min(FullWait(), std::max(rtt.Timeout(), rtt.limits().max_rtt_multiple * *a.host_max_rtt));
  }

  // When the current step of `a` times out.
  Clock::time_point Due(const Active& a) const {
    if (!opt.adaptive || !a.first_step) return a.deadline;
    const double share = a.conv.transport == Transport::kUdp ? 1.0 / (opt.udp_retries + 1) : 1.0;
    const double us = static_cast<double>(StepWait(a).count()) * share * a.jitter_factor;
    return a.try_sent + std::chrono::microseconds(static_cast<long>(us));
  }

  // The first answer (a connect's outcome, the first datagram or ICMP error) ends the first
  // step; its round trip is a sample unless the request was resent.
  void FirstAnswer(Active& a) {
    if (!a.first_step) return;
    a.first_step = false;
    if (a.resent) return;
    const auto sample = std::chrono::duration_cast<Micros>(Clock::now() - a.try_sent);
    rtt.AddSample(sample);
    *a.host_max_rtt = std::max(*a.host_max_rtt, sample);
  }

  // One step's deadline. UDP resends are spread inside the timeout (a request with one
  // retry waits timeout/2, resends, waits timeout/2), so silence costs one timeout whatever
  // the retry count; TCP has the kernel's own SYN retransmission.
  Clock::time_point Deadline(Transport t = Transport::kTcp) {
    std::uniform_real_distribution<double> d(0.0, opt.jitter);
    const double share = t == Transport::kUdp ? 1.0 / (opt.udp_retries + 1) : 1.0;
    const double ms = opt.timeout_ms * share * (1.0 + d(rng));
    return Clock::now() + std::chrono::microseconds(static_cast<long>(ms * 1000));
  }

  void Refill() {
    const auto now = Clock::now();
    const double burst = std::max(1.0, opt.rate / 50);  // at most 20 ms worth at once
    tokens = std::min(burst, tokens + std::chrono::duration<double>(now - refilled).count() * opt.rate);
    refilled = now;
  }
  bool TakeToken() {
    Refill();
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  // `wait`: for kTimeout, the step timeout that ran out.
  void End(std::size_t i, EndKind kind, std::string detail, Micros wait = Micros{0}) {
    std::unique_ptr<Active> a = std::move(slots[i]);
    free_slots.push_back(i);
    --active;
    ++ended;
    const int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    if (kind == EndKind::kTimeout) {
      ++stats->timeouts;
      if (wait < FullWait()) ++stats->shortened;
      stats->shortest_wait_ms = stats->timeouts == 1 ? wait_ms : std::min(stats->shortest_wait_ms, wait_ms);
      stats->longest_wait_ms = std::max(stats->longest_wait_ms, wait_ms);
    }
    a->fd.Reset();  // closing removes it from the epoll set
    ConversationEnd end{kind, std::move(detail),
                        std::chrono::duration<double>(Clock::now() - a->started).count(),
                        kind == EndKind::kTimeout ? wait_ms : 0};
    if (a->conv.on_end) a->conv.on_end(end);
  }

  bool Watch(std::size_t i, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (std::uint64_t{slots[i]->generation} << 32) | i;
    return ::epoll_ctl(ep.get(), op, slots[i]->fd.get(), &ev) == 0;
  }

  void Start(Conversation c) {
    std::size_t i = slots.size();
    if (!free_slots.empty()) {
      i = free_slots.back();
      free_slots.pop_back();
    } else {
      slots.emplace_back();
      generations.push_back(0);
    }
    auto a = std::make_unique<Active>();
    a->conv = std::move(c);
    a->started = Clock::now();
    a->hard_deadline = a->started + std::chrono::milliseconds(opt.total_ms);
    a->deadline = Deadline(a->conv.transport);
    a->tries_left = opt.udp_retries;
    a->first_step = !a->conv.broadcast;
    a->try_sent = a->started;
    a->jitter_factor = 1.0 + std::uniform_real_distribution<double>(0.0, opt.jitter)(rng);
    a->host_max_rtt = &host_max_rtt[EndpointHost(a->conv.peer)];
    a->generation = ++generations[i];
    a->out = a->conv.first;
    slots[i] = std::move(a);
    ++active;
    ++stats->started;
    ++stats->packets;
    Active& s = *slots[i];
    const int type = s.conv.transport == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    s.fd = UniqueFd(::socket(s.conv.peer.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.fd.valid()) return End(i, EndKind::kError, ErrnoError(errno, "socket").message);
    if (s.conv.broadcast) {
      const int one = 1;
      if (s.conv.transport != Transport::kUdp || s.conv.peer.addr.ss_family != AF_INET) {
        return End(i, EndKind::kError, s.conv.peer.text + ": a broadcast is UDP over IPv4 only");
      }
      if (::setsockopt(s.fd.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
        return End(i, EndKind::kError, ErrnoError(errno, "SO_BROADCAST").message);
      }
      if (!Watch(i, EPOLLIN, EPOLL_CTL_ADD)) return End(i, EndKind::kError, ErrnoError(errno, "epoll_ctl").message);
      return Writable(i);
    }
    if (::connect(s.fd.get(), reinterpret_cast<const sockaddr*>(&s.conv.peer.addr), s.conv.peer.len) != 0) {
      if (errno != EINPROGRESS) {
        const int err = errno;
        if (err == ECONNREFUSED) FirstAnswer(s);
        return End(i, err == ECONNREFUSED ? EndKind::kRefused : EndKind::kError,
                   ErrnoError(err, "connect " + s.conv.peer.text).message);
      }
      s.connecting = true;
    }
    if (!Watch(i, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD)) {
      return End(i, EndKind::kError, ErrnoError(errno, "epoll_ctl").message);
    }
    if (!s.connecting) Writable(i);
  }

  // Sends what is pending in `out`; for UDP the whole datagram at once.
  void Writable(std::size_t i) {
    Active& a = *slots[i];
    if (a.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(a.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0 || err == ECONNREFUSED) FirstAnswer(a);
      if (err != 0) {
        return End(i, err == ECONNREFUSED ? EndKind::kRefused : EndKind::kError,
                   ErrnoError(err, "connect " + a.conv.peer.text).message);
      }
      a.connecting = false;
      a.deadline = Deadline();
      if (a.conv.transport == Transport::kTcp && a.conv.first.empty()) {
        return End(i, EndKind::kDone, "");
      }
    }
    while (a.out_off < a.out.size()) {
      const ssize_t n =
          a.conv.broadcast
              ? ::sendto(a.fd.get(), a.out.data(), a.out.size(), MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&a.conv.peer.addr), a.conv.peer.len)
              : ::send(a.fd.get(), a.out.data() + a.out_off, a.out.size() - a.out_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return (void)Watch(i, EPOLLOUT | EPOLLIN, EPOLL_CTL_MOD);
        const int err = errno;
        return End(i, err == ECONNREFUSED ? EndKind::kRefused : EndKind::kError,
                   ErrnoError(err, "send to " + a.conv.peer.text).message);
      }
      a.out_off += static_cast<std::size_t>(n);
    }
    Watch(i, EPOLLIN, EPOLL_CTL_MOD);
  }

  // Applies on_message's answer; returns false when the slot has ended.
  bool Apply(std::size_t i, Next next) {
    Active& a = *slots[i];
    switch (next.kind) {
      case Next::Kind::kDone: End(i, EndKind::kDone, ""); return false;
      case Next::Kind::kWait: return true;
      case Next::Kind::kUnmatched:
        if (++a.unmatched <= kMaxUnmatched) return true;
        End(i, EndKind::kError,
            fmt::format("{}: gave up after {} replies that answer none of our requests (wrong xid or call_id)",
                        a.conv.peer.text, a.unmatched));
        return false;
      case Next::Kind::kSend:
        a.conv.first = next.bytes;  // a UDP retry resends the latest request
        a.out = std::move(next.bytes);
        a.out_off = 0;
        a.tries_left = opt.udp_retries;
        a.deadline = Deadline(a.conv.transport);
        ++stats->packets;
        Writable(i);
        return slots[i] != nullptr;
    }
    return true;
  }

  // Broadcast: every datagram, from whichever sender, until the deadline. MSG_TRUNC gives
  // the datagram's real size, so the cap also holds for one larger than the buffer.
  void ReadBroadcast(std::size_t i) {
    Active& a = *slots[i];
    for (int k = 0; k < 16; ++k) {  // drain a few datagrams per wake-up
      Endpoint from;
      from.len = sizeof from.addr;
      const ssize_t n = ::recvfrom(a.fd.get(), udp_buf.data(), udp_buf.size(), MSG_TRUNC,
                                   reinterpret_cast<sockaddr*>(&from.addr), &from.len);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return End(i, EndKind::kError, ErrnoError(errno, "recvfrom after broadcast to " + a.conv.peer.text).message);
      }
      const auto size = static_cast<std::size_t>(n);
      if (size > a.conv.max_message || size > udp_buf.size()) {
        ++a.oversized;
        continue;
      }
      sockaddr_in v4{};
      std::memcpy(&v4, &from.addr, sizeof v4);
      from.text = fmt::format("{}:{}", EndpointHost(from), ntohs(v4.sin_port));
      ++a.replies;
      a.conv.on_reply(from, std::span<const std::byte>(udp_buf.data(), size));
    }
  }

  void Readable(std::size_t i) {
    Active& a = *slots[i];
    if (a.conv.broadcast) return ReadBroadcast(i);
    if (a.conv.transport == Transport::kUdp) {
      for (int k = 0; k < 16; ++k) {  // drain a few datagrams per wake-up
        const ssize_t n = ::recv(a.fd.get(), udp_buf.data(), udp_buf.size(), 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return;
          const int err = errno;
          if (err == ECONNREFUSED) FirstAnswer(a);
          return End(i, err == ECONNREFUSED ? EndKind::kRefused : EndKind::kError,
                     ErrnoError(err, "recv from " + a.conv.peer.text).message);
        }
        FirstAnswer(a);
        const auto size = static_cast<std::size_t>(n);
        if (size > slots[i]->conv.max_message) {
          return End(i, EndKind::kError,
                     fmt::format("{}: reply of {} bytes or more exceeds the cap of {}", a.conv.peer.text,
                                 size, a.conv.max_message));
        }
        if (!Apply(i, a.conv.on_message(std::span<const std::byte>(udp_buf.data(), size)))) return;
      }
      return;
    }
    std::byte chunk[kTcpChunk];
    for (int k = 0; k < 64; ++k) {
      const ssize_t n = ::recv(a.fd.get(), chunk, sizeof chunk, 0);
      if (n == 0) return End(i, EndKind::kClosed, a.conv.peer.text + " closed the connection");
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        const int err = errno;
        return End(i, err == ECONNREFUSED || err == ECONNRESET ? EndKind::kRefused : EndKind::kError,
                   ErrnoError(err, "recv from " + a.conv.peer.text).message);
      }
      if (a.in.size() + static_cast<std::size_t>(n) > a.conv.max_message) {
        return End(i, EndKind::kError,
                   fmt::format("{}: reply exceeds the cap of {} bytes", a.conv.peer.text, a.conv.max_message));
      }
      a.in.insert(a.in.end(), chunk, chunk + n);
      a.deadline = Deadline();  // progress: the step timer restarts
      while (!a.in.empty()) {
        auto framed = a.conv.frame(a.in);
        if (!framed) return End(i, EndKind::kError, framed.error().message);
        if (*framed == 0 || *framed > a.in.size()) break;
        std::vector<std::byte> msg(a.in.begin(), a.in.begin() + static_cast<long>(*framed));
        a.in.erase(a.in.begin(), a.in.begin() + static_cast<long>(*framed));
        if (!Apply(i, a.conv.on_message(msg))) return;
      }
    }
  }

  void Expire() {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (!slots[i]) continue;
      Active& a = *slots[i];
      if (now >= a.hard_deadline && !a.conv.broadcast) {
        End(i, EndKind::kError,
            fmt::format("{}: still unfinished at the total deadline of {} ms ({} x the timeout x (retries + 1)): "
                        "the peer kept the conversation going without completing it",
                        a.conv.peer.text, opt.total_ms, kTotalDeadlineSteps));
        continue;
      }
      if (now < Due(a) && !a.retry_pending) continue;
      if (a.conv.transport == Transport::kUdp && (a.tries_left > 0 || a.retry_pending)) {
        if (!TakeToken()) {
          a.retry_pending = true;
          continue;
        }
        a.retry_pending = false;
        --a.tries_left;
        ++stats->packets;
        a.out = a.conv.first;
        a.out_off = 0;
        a.deadline = Deadline(a.conv.transport);
        a.try_sent = Clock::now();
        a.resent = true;
        Writable(i);
        continue;
      }
      if (a.conv.broadcast) {
        const std::string dropped =
            a.oversized == 0 ? std::string()
                             : fmt::format("{} repl{} over the cap of {} bytes dropped", a.oversized,
                                           a.oversized == 1 ? "y" : "ies", a.conv.max_message);
        if (a.replies > 0) {
          End(i, EndKind::kDone, dropped);
        } else {
          End(i, EndKind::kTimeout,
              fmt::format("{}: no answer to the broadcast within {} ms ({} tries){}", a.conv.peer.text,
                          opt.timeout_ms, opt.udp_retries + 1, dropped.empty() ? "" : "; " + dropped),
              FullWait());
        }
        continue;
      }
      const Micros wait = StepWait(a);
      End(i, EndKind::kTimeout,
          fmt::format("{}: no answer within {} ms{}{}", a.conv.peer.text,
                      std::chrono::duration_cast<std::chrono::milliseconds>(wait).count(),
                      wait < FullWait() ? " (adaptive)" : "",
                      a.conv.transport == Transport::kUdp
                          ? fmt::format(" ({} tries)", opt.udp_retries + 1) : std::string()),
          wait);
    }
  }

  int WaitMs() {
    auto soonest = Clock::now() + (opt.on_progress ? opt.progress_every
                                                   : std::chrono::milliseconds(1000));
    bool any = false;
    for (const auto& s : slots) {
      if (!s) continue;
      any = true;
      if (s->retry_pending) soonest = Clock::now();
      soonest = std::min({soonest, Due(*s), s->hard_deadline});
    }
    if (!queue.empty() && active < opt.concurrency) {
      Refill();
      const double need = tokens >= 1 ? 0 : (1 - tokens) / opt.rate;
      soonest = std::min(soonest, Clock::now() + std::chrono::microseconds(static_cast<long>(need * 1e6) + 1));
      any = true;
    }
    if (!any) return 0;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - Clock::now()).count();
    return static_cast<int>(std::clamp<long>(ms + 1, 0, 1000));
  }
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = options;
  impl_->opt.concurrency = std::max<std::size_t>(1, options.concurrency);
  impl_->opt.rate = std::max(1.0, options.rate);
  impl_->opt.udp_retries = std::clamp(options.udp_retries, 0, 10);
  impl_->opt.timeout_ms = std::max(1, options.timeout_ms);
  impl_->opt.total_ms = options.total_ms > 0
                            ? options.total_ms
                            : kTotalDeadlineSteps * impl_->opt.timeout_ms * (impl_->opt.udp_retries + 1);
  RttLimits limits;
  limits.ceiling = std::chrono::milliseconds(impl_->opt.timeout_ms);
  limits.floor = std::chrono::milliseconds(std::max(0, options.adaptive_floor_ms));
  limits.min_samples = std::max<std::size_t>(1, options.adaptive_min_samples);
  impl_->rtt = RttEstimator(limits);
  impl_->stats = &stats_;
}

Engine::~Engine() = default;

void Engine::Add(Conversation c) {
  ++impl_->added;
  impl_->queue.push_back(std::move(c));
}

Result<void> Engine::Run() {
  Impl& m = *impl_;
  m.ep = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!m.ep.valid()) return std::unexpected(ErrnoError(errno, "epoll_create1"));
  m.udp_buf.resize(kUdpBuffer);
  std::vector<epoll_event> events(256);
  const auto began = Clock::now();
  auto next_progress = began + m.opt.progress_after;
  bool progressed = false;
  while (!m.queue.empty() || m.active > 0) {
    if (m.opt.on_progress && Clock::now() >= next_progress) {
      m.opt.on_progress(m.ended, m.added);
      progressed = true;
      next_progress = Clock::now() + m.opt.progress_every;
    }
    while (!m.queue.empty() && m.active < m.opt.concurrency && m.TakeToken()) {
      Conversation c = std::move(m.queue.front());
      m.queue.pop_front();
      m.Start(std::move(c));
    }
    const int n = ::epoll_wait(m.ep.get(), events.data(), static_cast<int>(events.size()), m.WaitMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "epoll_wait"));
    }
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(events[k].data.u64 & 0xffffffffu);
      const auto gen = static_cast<std::uint32_t>(events[k].data.u64 >> 32);
      if (i >= m.slots.size() || !m.slots[i] || m.slots[i]->generation != gen) continue;  // ended this turn
      const std::uint32_t ev = events[k].events;
      if (m.slots[i]->connecting || (ev & EPOLLOUT)) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) m.Writable(i);
        if (!m.slots[i] || m.slots[i]->generation != gen) continue;
      }
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) m.Readable(i);
    }
    m.Expire();
  }
  if (progressed) m.opt.on_progress(m.ended, m.added);
  const auto ms = [](Micros us) { return static_cast<double>(us.count()) / 1000.0; };
  stats_.rtt_samples = m.rtt.samples();
  stats_.srtt_ms = ms(m.rtt.srtt());
  stats_.rttvar_ms = ms(m.rtt.rttvar());
  stats_.max_rtt_ms = ms(m.rtt.max_rtt());
  return {};
}

}  // namespace berth::probe
