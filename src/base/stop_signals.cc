#include "base/stop_signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstdint>

namespace berth {

Result<StopSignals> StopSignals::Install() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGINT);
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    return std::unexpected(ErrnoError(rc, "blocking SIGTERM and SIGINT"));
  }
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!signals.valid()) return std::unexpected(ErrnoError(errno, "signalfd for SIGTERM and SIGINT"));
  UniqueFd cancel(::eventfd(0, EFD_CLOEXEC));
  if (!cancel.valid()) return std::unexpected(ErrnoError(errno, "eventfd"));
  return StopSignals(std::move(signals), std::move(cancel));
}

std::optional<int> StopSignals::Wait() {
  for (;;) {
    pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {cancel_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;  // cannot wait: treat as cancelled rather than spin
    }
    if (fds[1].revents != 0) return std::nullopt;
    signalfd_siginfo si{};
    if (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      return static_cast<int>(si.ssi_signo);
    }
  }
}

void StopSignals::Cancel() {
  const std::uint64_t one = 1;
  (void)!::write(cancel_.get(), &one, sizeof one);
}

}  // namespace berth
