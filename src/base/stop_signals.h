// StopSignals: SIGTERM and SIGINT as a file descriptor to wait on, for a long-running command
// (berth agent): no work is done in a signal handler. Create it on the main thread before any
// other thread starts, so that every thread inherits the blocked mask and the signals are
// only ever read from the signalfd. Wait() may be woken early from another thread (Cancel).
// Wait and Cancel may be called from different threads; one waiter at a time.
#pragma once

#include <optional>

#include "base/error.h"
#include "base/unique_fd.h"

namespace berth {

class StopSignals {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread and opens the signalfd and the eventfd
  // Cancel() writes. Failure: the errno Error of signalfd or eventfd.
  [[nodiscard]] static Result<StopSignals> Install();
  StopSignals(StopSignals&&) = default;
  StopSignals& operator=(StopSignals&&) = default;

  // Blocks until SIGTERM or SIGINT arrives (its number) or Cancel() was called (nullopt).
  std::optional<int> Wait();
  // Wakes Wait() with nullopt.
  void Cancel();

 private:
  StopSignals(UniqueFd signals, UniqueFd cancel)
      : signals_(std::move(signals)), cancel_(std::move(cancel)) {}
  UniqueFd signals_;
  UniqueFd cancel_;
};

}  // namespace berth
