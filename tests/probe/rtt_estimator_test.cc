// RttEstimator: RFC 6298's arithmetic, the ceiling until enough samples, the floor, the
// multiple of the slowest round trip, and the ceiling as the hard maximum. Pure: durations in,
// durations out.
#include "probe/rtt_estimator.h"

#include <gtest/gtest.h>

namespace berth::probe {
namespace {

using std::chrono::milliseconds;

RttLimits Limits(milliseconds ceiling = milliseconds(1000)) {
  RttLimits l;
  l.ceiling = ceiling;
  l.floor = milliseconds(100);
  l.min_samples = 3;
  l.max_rtt_multiple = 3;
  return l;
}

TEST(ProbeRttEstimator, CeilingUntilEnoughSamples) {
  RttEstimator e(Limits());
  EXPECT_EQ(e.Timeout(), milliseconds(1000));
  e.AddSample(milliseconds(1));
  e.AddSample(milliseconds(1));
  EXPECT_FALSE(e.adapted());
  EXPECT_EQ(e.Timeout(), milliseconds(1000));
  e.AddSample(milliseconds(1));
  EXPECT_TRUE(e.adapted());
  EXPECT_EQ(e.Timeout(), milliseconds(100));  // the floor
}

TEST(ProbeRttEstimator, FollowsRfc6298) {
  RttEstimator e(Limits(milliseconds(10000)));
  e.AddSample(milliseconds(200));  // first: srtt = R, rttvar = R/2
  EXPECT_EQ(e.srtt(), milliseconds(200));
  EXPECT_EQ(e.rttvar(), milliseconds(100));
  e.AddSample(milliseconds(280));  // rttvar = 3/4 * 100 + 1/4 * 80; srtt = 7/8 * 200 + 1/8 * 280
  EXPECT_EQ(e.rttvar(), milliseconds(95));
  EXPECT_EQ(e.srtt(), milliseconds(210));
  e.AddSample(milliseconds(210));  // rttvar = 3/4 * 95 + 0; srtt unchanged
  EXPECT_EQ(e.rttvar(), std::chrono::microseconds(71250));
  EXPECT_EQ(e.srtt(), milliseconds(210));
  // srtt + 4 * rttvar = 495 ms, below 3 x the slowest (280 ms) = 840 ms: the multiple wins.
  EXPECT_EQ(e.max_rtt(), milliseconds(280));
  EXPECT_EQ(e.Timeout(), milliseconds(840));
}

TEST(ProbeRttEstimator, VarianceWinsOverTheMultipleWhenItIsLarger) {
  RttLimits l = Limits(milliseconds(10000));
  l.max_rtt_multiple = 1;
  RttEstimator e(l);
  for (int ms : {100, 300, 100}) e.AddSample(milliseconds(ms));
  // srtt: 100, 125, 121.875; rttvar: 50, 87.5, 71.875 (3/4 * 87.5 + 1/4 * |125 - 100|).
  EXPECT_EQ(e.srtt(), std::chrono::microseconds(121875));
  EXPECT_EQ(e.rttvar(), std::chrono::microseconds(71875));
  EXPECT_EQ(e.Timeout(), e.srtt() + 4 * e.rttvar());
}

TEST(ProbeRttEstimator, NeverAboveTheCeiling) {
  RttEstimator e(Limits(milliseconds(500)));
  for (int i = 0; i < 5; ++i) e.AddSample(milliseconds(400));  // 3 x 400 ms > 500 ms
  EXPECT_EQ(e.Timeout(), milliseconds(500));
  // A ceiling under the floor is still the maximum.
  RttEstimator low(Limits(milliseconds(50)));
  for (int i = 0; i < 3; ++i) low.AddSample(milliseconds(1));
  EXPECT_EQ(low.Timeout(), milliseconds(50));
}

TEST(ProbeRttEstimator, OneSlowSampleKeepsTheWaitLong) {
  // Many fast answers, then one slow one: the slowest round trip bounds the wait from below
  // for the rest of the run, however much the smoothed figures come back down.
  RttEstimator e(Limits(milliseconds(5000)));
  for (int i = 0; i < 10; ++i) e.AddSample(milliseconds(1));
  e.AddSample(milliseconds(300));
  for (int i = 0; i < 100; ++i) e.AddSample(milliseconds(1));
  EXPECT_EQ(e.Timeout(), milliseconds(900));
}

TEST(ProbeRttEstimator, NegativeSampleCountsAsZero) {
  RttEstimator e(Limits());
  for (int i = 0; i < 3; ++i) e.AddSample(milliseconds(-5));
  EXPECT_EQ(e.srtt(), milliseconds(0));
  EXPECT_EQ(e.Timeout(), milliseconds(100));
}

}  // namespace
}  // namespace berth::probe
