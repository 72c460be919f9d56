// RttEstimator: how long to wait for a peer that has not answered yet, learnt from the round
// trips of the peers that did (RFC 6298's smoothed RTT and variance, as TCP and nmap keep
// them). Pure arithmetic on durations the caller measures: no clock, no I/O. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>

namespace berth::probe {

using Micros = std::chrono::microseconds;

struct RttLimits {
  // The hard maximum: what a fixed-timeout run waits (--timeout). Never exceeded.
  Micros ceiling{1'000'000};
  // Never wait less than this, whatever the samples say. 100 ms is nmap's default
  // --min-rtt-timeout: scheduling noise on a loaded host and a LAN's worst queueing stay well
  // under it, and it is still a tenth of the default --timeout.
  Micros floor{100'000};
  // Until this many round trips were seen the wait stays at the ceiling: one early sample
  // (a reply from the nearest host) says little about the others.
  std::size_t min_samples = 3;
  // Never wait less than this multiple of the slowest round trip seen, so a peer up to that
  // much slower than every peer that answered so far is still heard.
  int max_rtt_multiple = 3;
};

class RttEstimator {
 public:
  explicit RttEstimator(RttLimits limits) : limits_(limits) {}

  // One round trip: a request (or a SYN) and its first answer, from a try that was not
  // resent (Karn's rule: the answer to a resent request could belong to either copy).
  // Negative samples count as zero.
  void AddSample(Micros rtt);

  // The wait for an answer: srtt + 4 * rttvar, at least max_rtt_multiple x the slowest sample
  // and the floor, at most the ceiling; the ceiling itself before min_samples samples.
  Micros Timeout() const;

  // True once enough samples were seen for Timeout() to be below the ceiling.
  bool adapted() const { return samples_ >= limits_.min_samples; }
  std::size_t samples() const { return samples_; }
  Micros srtt() const { return srtt_; }
  Micros rttvar() const { return rttvar_; }
  Micros max_rtt() const { return max_rtt_; }
  const RttLimits& limits() const { return limits_; }

 private:
  RttLimits limits_;
  std::size_t samples_ = 0;
  Micros srtt_{0}, rttvar_{0}, max_rtt_{0};
};

}  // namespace berth::probe
