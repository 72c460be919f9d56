// Engine: runs many small request/reply conversations (one TCP connection or one UDP flow
// each) at once on one thread with epoll: a bounded number in flight, a global packet rate,
// per-step timeouts with jitter and bounded UDP retries. It only talks to the endpoint each
// conversation names (for a broadcast conversation, that broadcast address) and caps every
// reply before it is used. Not thread-safe: one Engine per thread; callbacks run on the
// thread that calls Run() and may Add() more work.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::probe {

// An address and port to talk to, with its text for messages ("127.0.0.1:111").
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

// Parses a numeric IPv4/IPv6 address (no name lookup). Failure: kInvalidArgument.
[[nodiscard]] Result<Endpoint> MakeEndpoint(std::string_view address, Port port);
// The same host with another port.
Endpoint WithPort(const Endpoint& e, Port port);
// The numeric host part ("127.0.0.1", "::1").
std::string EndpointHost(const Endpoint& e);

// What a conversation wants after a complete message.
struct Next {
  // kWait: part of the answer came (a fragment), wait for the rest. kUnmatched: the message
  // answers none of our requests (a wrong xid or call_id, another reply type); it is dropped
  // and counted, and more than kMaxUnmatched of them end the conversation with kError.
  enum class Kind { kDone, kSend, kWait, kUnmatched } kind = Kind::kDone;
  std::vector<std::byte> bytes;  // kSend: the next request
  static Next Done() { return {}; }
  static Next Wait() { return {Kind::kWait, {}}; }
  static Next Unmatched() { return {Kind::kUnmatched, {}}; }
  static Next Send(std::vector<std::byte> b) { return {Kind::kSend, std::move(b)}; }
};

enum class EndKind {
  kDone,     // on_message returned Done (or a connect-only TCP check connected)
  kTimeout,  // no (complete) answer in time, after the retries
  kRefused,  // TCP RST or ICMP port unreachable
  kClosed,   // the peer closed the TCP connection before the conversation was done
  kError,    // a local error, a reply the framing rejected, more than kMaxUnmatched unmatched
             // replies, or the conversation's total deadline passed
};
std::string_view EndKindName(EndKind k);

struct ConversationEnd {
  EndKind kind = EndKind::kDone;
  std::string detail;  // empty for kDone, except a broadcast that dropped replies over the cap
  double seconds = 0;  // from start to end
  // kTimeout: the step timeout that ran out, before jitter: EngineOptions::timeout_ms, or less
  // when an adaptive wait applied (see EngineOptions::adaptive). 0 for other ends.
  int wait_ms = 0;
};

enum class Transport { kTcp, kUdp };

struct Conversation {
  Endpoint peer;
  Transport transport = Transport::kTcp;
  // The first request. TCP: may be empty (connect only: ends kDone once connected).
  // UDP: the datagram, sent again on each retry.
  std::vector<std::byte> first;
  // TCP: how many leading bytes of the stream form one complete message (0: need more).
  // An error ends the conversation with kError. UDP: every datagram is one message.
  std::function<Result<std::size_t>(std::span<const std::byte>)> frame;
  // One complete message; says what to do next. Required unless `first` is empty (TCP).
  std::function<Next(std::span<const std::byte>)> on_message;
  // Called exactly once.
  std::function<void(const ConversationEnd&)> on_end;
  std::size_t max_message = 65536;  // larger replies end the conversation with kError
  // UDP over IPv4 only. The socket is left unconnected and gets SO_BROADCAST: `first` goes
  // to `peer` (a broadcast address) with the usual retries, and every datagram that arrives
  // from any sender until the timeout goes to on_reply with its sender; replies neither end
  // nor extend the conversation. One over max_message is dropped (one bad sender must not
  // end the others' replies) and named in the end's detail. Ends kDone if any reply came,
  // else kTimeout. on_message and frame are not used.
  bool broadcast = false;
  std::function<void(const Endpoint& from, std::span<const std::byte>)> on_reply;
};

// Unmatched replies one conversation tolerates; the next one ends it with kError.
inline constexpr std::size_t kMaxUnmatched = 16;
// The hard total deadline of one conversation, from its start, is this many step timeouts
// times (udp_retries + 1): a peer that keeps a conversation going (a byte at a time, or
// with replies that never finish it) ends there with kError, whatever it sends.
inline constexpr int kTotalDeadlineSteps = 10;

struct EngineOptions {
  int timeout_ms = 1000;        // per step (connect, each reply); UDP resends fall inside it
  // Adaptive first steps: the wait for a TCP connect, and for the first reply to a UDP
  // request, shrinks to what the round trips seen so far in this run say (RttEstimator:
  // srtt + 4 * rttvar, at least 3 x the slowest round trip of the whole run and of that
  // peer's host, at least adaptive_floor_ms), re-evaluated while the conversation waits.
  // timeout_ms stays the maximum, and the wait before min samples. A peer that has answered
  // once keeps the full timeout_ms for the rest of its conversation, and broadcasts listen
  // for the whole timeout_ms. false: every step waits timeout_ms.
  bool adaptive = false;
  int adaptive_floor_ms = 100;
  std::size_t adaptive_min_samples = 3;
  int total_ms = 0;             // per conversation; 0: kTotalDeadlineSteps * timeout_ms * (udp_retries + 1)
  double jitter = 0.1;          // each timeout is stretched by up to this fraction, at random
  int udp_retries = 1;          // resends of an unanswered UDP request
  double rate = 1000;           // new packets per second (starts and retries), across all peers
  std::size_t concurrency = 512;
  // Progress for a front end: (conversations ended, conversations queued so far), at most
  // every progress_every once the run has lasted progress_after, and a last time when the
  // run ends if it was called before. A run shorter than progress_after never calls it.
  std::function<void(std::size_t ended, std::size_t total)> on_progress;
  std::chrono::milliseconds progress_after{1000};
  std::chrono::milliseconds progress_every{250};
};

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a conversation; it starts when a slot and the rate allow.
  void Add(Conversation c);
  // Runs until every queued conversation (including those added by callbacks) has ended.
  // Failure: the epoll instance could not be created or waited on (kInternal).
  [[nodiscard]] Result<void> Run();

  struct Stats {
    std::size_t started = 0, packets = 0, timeouts = 0;
    // Of the timeouts, those whose wait was shorter than timeout_ms (adaptive), and the
    // shortest and longest step timeout that ran out (before jitter; 0 without timeouts).
    std::size_t shortened = 0;
    int shortest_wait_ms = 0, longest_wait_ms = 0;
    // The run's round-trip estimate at the end (RttEstimator), from this many samples.
    std::size_t rtt_samples = 0;
    double srtt_ms = 0, rttvar_ms = 0, max_rtt_ms = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Stats stats_;
};

}  // namespace berth::probe
