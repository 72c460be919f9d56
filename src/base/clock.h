// Clock: where "now" comes from for anything that is recorded or compared across runs (scan
// times in the registry, created/updated stamps, lease ages). Injected, so a test can run a
// pipeline at t and t + 1 day. Durations measured inside one run (timeouts, --timing) use
// std::chrono::steady_clock directly: they are never stored.
// SystemClock is stateless and thread-safe; a FakeClock is set by its one owner.
#pragma once

#include <cstdint>

namespace berth {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual std::int64_t UnixSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t UnixSeconds() const override;
};

// Seconds since the Unix epoch by the system clock (SystemClock's answer), where no Clock is
// injected: stores stamping their own records, serve's ages.
std::int64_t UnixNow();

// A clock that says what it was told: for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t unix_seconds) : now_(unix_seconds) {}
  std::int64_t UnixSeconds() const override { return now_; }
  void Set(std::int64_t unix_seconds) { now_ = unix_seconds; }
  void Advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::int64_t now_;
};

}  // namespace berth
