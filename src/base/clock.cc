#include "base/clock.h"

#include <ctime>

namespace berth {

std::int64_t UnixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::int64_t SystemClock::UnixSeconds() const { return UnixNow(); }

}  // namespace berth
