// The seccomp engine of `berth pin`, for a caller without privilege: the pinned command runs
// under a seccomp filter that sends each bind(2) to a supervisor (SECCOMP_RET_USER_NOTIF).
// The supervisor reads the address, and for a bind the BindRewrite names it duplicates the
// target's socket (pidfd_getfd), binds the duplicate itself to the static port (with several,
// the one of this bind's rank, counted as the BPF engine counts) and answers the
// syscall with bind's result. The target's memory is never written, so there is no race
// between the check and the bind: the kernel binds the address the supervisor built. Other
// binds continue unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE); one that may be to move but whose
// socket cannot be fetched fails with EPERM, never silently unpinned. io_uring binds do not
// pass through seccomp and are missed (docs/pin.md). x86_64 and aarch64 native syscalls only.
// One thread per supervisor.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "core/port.h"
#include "host/bind_rewrite.h"

namespace berth {

// In a forked child, before exec: sets no_new_privs and installs the filter. Returns the
// listener fd, or -errno. Async-signal-safe (no allocation), for use between fork and exec.
int InstallBindNotifyFilter() noexcept;

// One bind the supervisor moved, or refused because it could not fetch the socket.
struct MovedBind {
  pid_t pid = 0;  // the thread that called bind (its thread id: the process's pid for the main one)
  Protocol proto = Protocol::kTcp;  // unknown (left kTcp) when `unfetched` is set
  Port asked = 0;
  Port bound = 0;
  int error = 0;  // errno of the supervisor's bind (returned to the target), 0 on success
  // Set when the target's socket could not be fetched, so berth could not tell the bind's
  // protocol nor bind it itself: why. The bind was refused with `error` (EPERM) rather than
  // let through to the port the target asked for.
  std::string unfetched;
};

// The socket `fd` of the thread `tid` as berth's own file (pidfd_getfd): through a pidfd of
// the thread's process (pidfd_open(tid) works for a process's main thread), else of the
// thread itself (PIDFD_THREAD, Linux 6.9), else through its thread group (below: Linux 5.9 to
// 6.8 for a thread that is not its process's main thread). The caller checks afterwards that
// the seccomp notification naming `tid` is still valid, so that a pid reused meanwhile cannot
// hand it another process's socket. Failure: the errno Error of the last way tried, naming
// the thread; those of FetchSocketViaThreadGroup.
[[nodiscard]] Result<UniqueFd> FetchTargetSocket(pid_t tid, int fd);

// The thread group's way, on its own so that tests can take it on any kernel: reads the
// thread's Tgid from `proc_root`/TID/status (bounded, ParseStatusTgid), fetches `fd` through
// pidfd_open(tgid), then checks that the file fetched is the one `proc_root`/TID/fd/FD names:
// threads made with CLONE_FILES (pthreads, every libc) share their process's fd table, but a
// thread made without it (or that called unshare(CLONE_FILES)) has one of its own, where the
// same number may name another file. Failure: the errno Error of reading the status or the
// fd's entry, of pidfd_open or of pidfd_getfd; kMalformed for a status without one valid
// Tgid line; kUnavailable naming the thread for a file that is not the thread's.
[[nodiscard]] Result<UniqueFd> FetchSocketViaThreadGroup(pid_t tid, int fd, const std::string& proc_root);

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
