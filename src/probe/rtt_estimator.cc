// RttEstimator: see rtt_estimator.h. RFC 6298 section 2 with alpha = 1/8, beta = 1/4 and
// K = 4, in integer microseconds.
#include "probe/rtt_estimator.h"

#include <algorithm>

namespace berth::probe {

void RttEstimator::AddSample(Micros rtt) {
  rtt = std::max(rtt, Micros{0});
  if (samples_ == 0) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
  } else {
    const Micros delta = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + delta) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  max_rtt_ = std::max(max_rtt_, rtt);
  ++samples_;
}

Micros RttEstimator::Timeout() const {
  const Micros ceiling = std::max(limits_.ceiling, Micros{1});
  if (!adapted()) return ceiling;
  const Micros wanted = std::max({srtt_ + 4 * rttvar_, limits_.max_rtt_multiple * max_rtt_, limits_.floor});
  return std::min(wanted, ceiling);
}

}  // namespace berth::probe
