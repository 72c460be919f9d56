// Running the command `berth pin` pins: fork, move the child into the pin cgroup and/or put it
// under the bind filter, exec; then wait for it while forwarding signals (INT, TERM, HUP, QUIT,
// USR1, USR2, WINCH) and answering the seccomp supervisor. The child gets PR_SET_PDEATHSIG
// SIGKILL: it does not outlive a berth killed with SIGKILL. One thread; one child at a time.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "host/seccomp_bind.h"

namespace berth {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  int cgroup_procs_fd = -1;       // the child moves itself in before exec (-1: stay)
  bool seccomp_notify = false;    // install the bind filter; the listener comes back to us
  std::vector<std::string> env;   // "NAME=VALUE" set (replacing the same NAME) in the child
};

// The LD_PRELOAD shim (libberth-pin-preload.so): $BERTH_PIN_PRELOAD, else next to the berth
// binary, else in ../lib/berth from it. Failure: kNotFound naming where it looked.
[[nodiscard]] Result<std::string> FindPreloadShim();

// One more fd PinnedChild::Wait watches: `on_ready` runs when it is readable, and once more
// after the child ended (what it told just before it ended is not lost).
struct WaitWatch {
  int fd = -1;
  std::function<void()> on_ready;
};

// How the child ended: an exit status, or the signal that killed it.
struct ChildEnd {
  int exit_code = 0;
  std::optional<int> signal;
  // The shell's convention: the exit status, or 128 + the signal.
  int status() const { return signal ? 128 + *signal : exit_code; }
};

class PinnedChild {
 public:
  // Forks and execs. Failure: the errno Error of fork or of setting up the child; a command
  // that cannot be run is kNotFound (missing) or kPermissionDenied, naming it.
  [[nodiscard]] static Result<PinnedChild> Start(const ChildSpec& spec);
  PinnedChild(PinnedChild&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)),
        signals_(std::move(o.signals_)), listener_(std::move(o.listener_)) {}
  PinnedChild& operator=(PinnedChild&&) = delete;
  ~PinnedChild();  // kills (SIGKILL) and reaps a child still running

  pid_t pid() const { return pid_; }
  // The seccomp listener (when ChildSpec::seccomp_notify), for a BindSupervisor.
  UniqueFd TakeListener() { return std::move(listener_); }

  // Waits for the child, forwarding signals to it and calling `supervisor->HandleOne` when a
  // bind is pending; `on_bind` hears each moved bind; `watch` as WaitWatch says. Failure: the
  // errno Error of the wait, or the supervisor's (the child is then killed).
  [[nodiscard]] Result<ChildEnd> Wait(BindSupervisor* supervisor,
                                      const std::function<void(const MovedBind&)>& on_bind,
                                      const WaitWatch& watch = {});

 private:
  PinnedChild() = default;
  pid_t pid_ = -1;
  UniqueFd pidfd_, signals_, listener_;
};

}  // namespace berth
