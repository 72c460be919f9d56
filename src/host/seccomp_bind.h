// The seccomp engine of `berth pin`, for a caller without privilege: the pinned command runs
// under a seccomp filter that sends each bind(2) to a supervisor (SECCOMP_RET_USER_NOTIF).
// The supervisor reads the address, and for a bind the BindRewrite names it duplicates the
// target's socket (pidfd_getfd), binds the duplicate itself to the static port (with several,
// the one of this bind's rank, counted as the BPF engine counts) and answers the
// syscall with bind's result. The target's memory is never written, so there is no race
// between the check and the bind: the kernel binds the address the supervisor built. Other
// binds continue unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE). io_uring binds do not pass
// through seccomp and are missed (docs/pin.md). x86_64 and aarch64 native syscalls only.
// One thread per supervisor.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <optional>

#include "base/error.h"
#include "base/unique_fd.h"
#include "core/port.h"
#include "host/bind_rewrite.h"

namespace berth {

// In a forked child, before exec: sets no_new_privs and installs the filter. Returns the
// listener fd, or -errno. Async-signal-safe (no allocation), for use between fork and exec.
int InstallBindNotifyFilter() noexcept;

// One bind the supervisor moved.
struct MovedBind {
  pid_t pid = 0;
  Protocol proto = Protocol::kTcp;
  Port asked = 0;
  Port bound = 0;
  int error = 0;  // errno of the supervisor's bind (returned to the target), 0 on success
};

class BindSupervisor {
 public:
  BindSupervisor(UniqueFd listener, BindRewrite rewrite)
      : listener_(std::move(listener)), rewrite_(std::move(rewrite)) {}
  int fd() const { return listener_.get(); }

  // Receives and answers one notification (call when fd() is readable). Returns the bind it
  // moved, nullopt for one let through (or whose target died meanwhile). Failure: the errno
  // Error of the seccomp ioctls (the listener is broken).
  [[nodiscard]] Result<std::optional<MovedBind>> HandleOne();

 private:
  UniqueFd listener_;
  BindRewrite rewrite_;
  std::array<std::size_t, 4> moved_{};  // binds moved so far, by CounterSlot
};

}  // namespace berth
