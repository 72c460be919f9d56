#include "host/seccomp_bind.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/core.h>

#include "base/file.h"
#include "host/proc_parse.h"

namespace berth {
namespace {

// Raw syscalls: Debian 12's <sys/pidfd.h> (glibc 2.36) declares these without extern "C".
int PidfdOpen(pid_t pid, unsigned flags) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags)); }
int PidfdGetfd(int pidfd, int fd, unsigned flags) {
  return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, flags));
}

#if defined(__x86_64__)
constexpr std::uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
#error "berth pin's seccomp engine knows x86_64 and aarch64"
#endif

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // Linux 6.9: a pidfd for a thread
#endif

// Answers `id` with "continue as asked".
Result<void> Continue(int listener, std::uint64_t id) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) {
    return std::unexpected(ErrnoError(errno, "seccomp: answering a bind (SECCOMP_IOCTL_NOTIF_SEND)"));
  }
  return {};
}

// Answers `id` with bind's result: success for 0, else -err to the target.
Result<void> Answer(int listener, std::uint64_t id, int err) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -err;
  if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) {
    return std::unexpected(ErrnoError(errno, "seccomp: answering a bind (SECCOMP_IOCTL_NOTIF_SEND)"));
  }
  return {};
}

// Gets `fd` of the process or thread `pidfd` names.
Result<UniqueFd> GetFd(int pidfd, int fd, pid_t whose) {
  UniqueFd sock(PidfdGetfd(pidfd, fd, 0));
  if (!sock.valid()) return std::unexpected(ErrnoError(errno, fmt::format("pidfd_getfd of fd {} of {}", fd, whose)));
  return sock;
}

}  // namespace

Result<UniqueFd> FetchSocketViaThreadGroup(pid_t tid, int fd, const std::string& proc_root) {
  const std::string status_path = fmt::format("{}/{}/status", proc_root, tid);
  const std::string status = BERTH_TRY(ReadSmallFile(status_path));
  const std::optional<std::int32_t> tgid = ParseStatusTgid(status);
  if (!tgid) return Fail(ErrorCode::kMalformed, fmt::format("{} has no valid Tgid line", status_path));
  UniqueFd pidfd(PidfdOpen(*tgid, 0));
  if (!pidfd.valid()) {
    return std::unexpected(ErrnoError(errno, fmt::format("pidfd_open of process {} (thread {}'s)", *tgid, tid)));
  }
  UniqueFd sock = BERTH_TRY(GetFd(pidfd.get(), fd, *tgid));
  // The thread's own entry for `fd`: the same file only if the thread shares the table.
  const std::string entry = fmt::format("{}/{}/fd/{}", proc_root, tid, fd);
  struct stat theirs {}, ours {};
  if (::stat(entry.c_str(), &theirs) != 0) return std::unexpected(ErrnoError(errno, "stat " + entry));
  if (::fstat(sock.get(), &ours) != 0) return std::unexpected(ErrnoError(errno, "fstat of a fetched socket"));
  if (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("thread {} has an fd table of its own (not its process {}'s), so its fd {} "
                            "cannot be fetched before Linux 6.9 (PIDFD_THREAD)", tid, *tgid, fd));
  }
  return sock;
}

Result<UniqueFd> FetchTargetSocket(pid_t tid, int fd) {
  UniqueFd pidfd(PidfdOpen(tid, 0));  // a process's main thread (its tid is the pid)
  if (pidfd.valid()) return GetFd(pidfd.get(), fd, tid);
  // Another thread, which pidfd_open refuses without PIDFD_THREAD (EINVAL, or ENOENT on recent
  // kernels: the errno is not a contract, so each way is tried whatever the last one said).
  pidfd.Reset(PidfdOpen(tid, static_cast<unsigned>(PIDFD_THREAD)));  // Linux 6.9+
  if (pidfd.valid()) return GetFd(pidfd.get(), fd, tid);
  return FetchSocketViaThreadGroup(tid, fd, "/proc");  // before 6.9 (EINVAL): through its process
}

int InstallBindNotifyFilter() noexcept {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),  // a foreign ABI: not ours to judge
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bind, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  const long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

Result<std::optional<MovedBind>> BindSupervisor::HandleOne() {
  seccomp_notif req{};
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
    if (errno == ENOENT || errno == EINTR) return std::nullopt;  // the target went away
    return std::unexpected(ErrnoError(errno, "seccomp: receiving a bind (SECCOMP_IOCTL_NOTIF_RECV)"));
  }
  const auto pid = static_cast<pid_t>(req.pid);
  const int target_fd = static_cast<int>(req.data.args[0]);
  const std::uint64_t addr_len = req.data.args[2];
  // The address as the target passed it; untrusted, copied once, checked for its length.
  sockaddr_storage addr{};
  if (addr_len < sizeof(sa_family_t) || addr_len > sizeof addr) {
    BERTH_TRY(Continue(listener_.get(), req.id));
    return std::nullopt;
  }
  iovec local{&addr, static_cast<std::size_t>(addr_len)};
  iovec remote{reinterpret_cast<void*>(req.data.args[1]), static_cast<std::size_t>(addr_len)};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(addr_len) ||
      ::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) {
    BERTH_TRY(Continue(listener_.get(), req.id));
    return std::nullopt;
  }
  Port asked = 0;
  if (addr.ss_family == AF_INET && addr_len >= sizeof(sockaddr_in)) {
    asked = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6 && addr_len >= sizeof(sockaddr_in6)) {
    asked = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  } else {
    BERTH_TRY(Continue(listener_.get(), req.id));
    return std::nullopt;
  }
  // The socket's protocol comes from the kernel, not from the target's word. The notification
  // is checked once more after the fetch: the target may have died meanwhile, and its pid
  // been given to another process, whose socket this would be.
  Result<UniqueFd> sock = FetchTargetSocket(pid, target_fd);
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) return std::nullopt;
  if (!sock) {
    if (!rewrite_.Matches(Protocol::kTcp, asked) && !rewrite_.Matches(Protocol::kUdp, asked)) {
      BERTH_TRY(Continue(listener_.get(), req.id));  // not one to move, whatever its protocol
      return std::nullopt;
    }
    // Maybe one to move, and berth cannot: the bind fails rather than listen unpinned.
    BERTH_TRY(Answer(listener_.get(), req.id, EPERM));
    MovedBind refused{pid, Protocol::kTcp, asked, 0, EPERM, sock.error().message};
    return refused;
  }
  int proto = 0;
  socklen_t plen = sizeof proto;
  if (::getsockopt(sock->get(), SOL_SOCKET, SO_PROTOCOL, &proto, &plen) != 0 ||
      (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) {
    BERTH_TRY(Continue(listener_.get(), req.id));
    return std::nullopt;
  }
  const Protocol p = proto == IPPROTO_TCP ? Protocol::kTcp : Protocol::kUdp;
  if (!rewrite_.Matches(p, asked)) {
    BERTH_TRY(Continue(listener_.get(), req.id));
    return std::nullopt;
  }
  const BindFamily family = addr.ss_family == AF_INET ? BindFamily::kInet4 : BindFamily::kInet6;
  const Port to = rewrite_.PortFor(p, moved_[static_cast<std::size_t>(CounterSlot(p, family))]++);
  if (family == BindFamily::kInet4) {
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(to);
  } else {
    reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(to);
  }
  MovedBind moved{pid, p, asked, to, 0, {}};
  if (::bind(sock->get(), reinterpret_cast<sockaddr*>(&addr), static_cast<socklen_t>(addr_len)) != 0) {
    moved.error = errno;
  }
  BERTH_TRY(Answer(listener_.get(), req.id, moved.error));  // 0: the bind succeeded
  return moved;
}

}  // namespace berth
