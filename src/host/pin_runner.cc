#include "host/pin_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {
namespace {

// Raw syscalls: Debian 12's <sys/pidfd.h> (glibc 2.36) declares these without extern "C".
int PidfdOpen(pid_t pid, unsigned flags) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags)); }

constexpr std::array kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

sigset_t ForwardedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  return set;
}

// One byte carrying one fd (SCM_RIGHTS), for sendmsg and recvmsg alike. No allocation: the
// child uses it between fork and exec.
struct FdMessage {
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

// The child's side between fork and exec: only async-signal-safe calls, no allocation.
// Reports a failure as {step, errno} on `report` and exits 127.
[[noreturn]] void ChildMain(const ChildSpec& spec, char* const* argv, char* const* envp,
                            const sigset_t& old_mask, pid_t parent, int report, int fd_channel) {
  auto fail = [report](int step) {
    const int msg[2] = {step, errno};
    (void)!::write(report, msg, sizeof msg);
    ::_exit(127);
  };
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // berth died before the line above
  for (int s : kForwarded) ::signal(s, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (spec.cgroup_procs_fd >= 0 && ::write(spec.cgroup_procs_fd, "0", 1) != 1) fail(1);
  if (spec.seccomp_notify) {
    const int listener = InstallBindNotifyFilter();
    if (listener < 0) {
      errno = -listener;
      fail(2);
    }
    FdMessage m;
    msghdr& msg = m.msg;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &listener, sizeof listener);
    if (::sendmsg(fd_channel, &msg, MSG_NOSIGNAL) != 1) fail(3);
    ::close(listener);
  }
  ::execvpe(argv[0], argv, envp);
  fail(4);
  ::_exit(127);
}

Result<UniqueFd> ReceiveFd(int channel) {
  FdMessage m;
  msghdr& msg = m.msg;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  const cmsghdr* c = n == 1 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
    return Fail(ErrorCode::kInternal, "the pinned command did not hand over its seccomp listener");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

}  // namespace

Result<std::string> FindPreloadShim() {
  constexpr const char* kName = "libberth-pin-preload.so";
  if (const char* env = std::getenv("BERTH_PIN_PRELOAD"); env != nullptr && *env != '\0') {
    if (::access(env, R_OK) == 0) return std::string(env);
    return Fail(ErrorCode::kNotFound, fmt::format("BERTH_PIN_PRELOAD names {}, which cannot be read",
                                                  TerminalSafe(env)));
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::unexpected(ErrnoError(ec.value(), "reading /proc/self/exe"));
  const std::filesystem::path here = exe.parent_path() / kName;
  const std::filesystem::path lib = exe.parent_path().parent_path() / "lib" / "berth" / kName;
  for (const auto& p : {here, lib}) {
    if (::access(p.c_str(), R_OK) == 0) return p.string();
  }
  return Fail(ErrorCode::kNotFound, fmt::format("the LD_PRELOAD shim {} is neither at {} nor at {}",
                                                kName, here.string(), lib.string()));
}

Result<PinnedChild> PinnedChild::Start(const ChildSpec& spec) {
  if (spec.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "no command to run");
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The child's environment: ours, with spec.env replacing or adding names.
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool replaced = false;
    for (const std::string& add : spec.env) {
      const std::size_t eq = add.find('=');
      if (entry.substr(0, eq + 1) == std::string_view(add).substr(0, eq + 1)) replaced = true;
    }
    if (!replaced) env_text.emplace_back(entry);
  }
  env_text.insert(env_text.end(), spec.env.begin(), spec.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  int report[2], channel[2] = {-1, -1};
  if (::pipe2(report, O_CLOEXEC) != 0) return std::unexpected(ErrnoError(errno, "pipe"));
  UniqueFd report_r(report[0]), report_w(report[1]);
  if (spec.seccomp_notify && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
    return std::unexpected(ErrnoError(errno, "socketpair"));
  }
  UniqueFd chan_r(channel[0]), chan_w(channel[1]);

  PinnedChild child;
  const sigset_t forwarded = ForwardedSet();
  sigset_t old_mask;
  ::sigprocmask(SIG_BLOCK, &forwarded, &old_mask);
  child.signals_.Reset(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!child.signals_.valid()) {
    Error e = ErrnoError(errno, "signalfd");
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    return std::unexpected(std::move(e));
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return std::unexpected(ErrnoError(errno, "fork"));
  if (pid == 0) ChildMain(spec, argv.data(), envp.data(), old_mask, parent, report_w.get(), chan_w.get());
  child.pid_ = pid;
  report_w.Reset();
  chan_w.Reset();
  child.pidfd_.Reset(PidfdOpen(pid, 0));
  if (!child.pidfd_.valid()) return std::unexpected(ErrnoError(errno, "pidfd_open of the command"));
  if (spec.seccomp_notify) {
    auto listener = ReceiveFd(chan_r.get());
    if (listener) child.listener_ = std::move(*listener);
  }
  // EOF: exec succeeded (the pipe is close-on-exec); else what failed, and its errno.
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report_r.get(), msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    static constexpr const char* kSteps[] = {"", "cannot move the command into its cgroup",
                                             "cannot install the seccomp bind filter",
                                             "cannot hand over the seccomp listener", ""};
    const int step = msg[0] >= 1 && msg[0] <= 4 ? msg[0] : 4;
    Error e = step == 4 ? ErrnoError(msg[1], fmt::format("cannot run '{}'", TerminalSafe(spec.argv[0])))
                        : ErrnoError(msg[1], kSteps[step]);
    return std::unexpected(std::move(e));
  }
  if (spec.seccomp_notify && !child.listener_.valid()) {
    return Fail(ErrorCode::kInternal, "the pinned command did not hand over its seccomp listener");
  }
  return child;
}

PinnedChild::~PinnedChild() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (signals_.valid()) {
    const sigset_t forwarded = ForwardedSet();
    signals_.Reset();
    // Drop what arrived while nobody was forwarding, then unblock.
    timespec zero{0, 0};
    while (::sigtimedwait(&forwarded, nullptr, &zero) > 0) {
    }
    ::sigprocmask(SIG_UNBLOCK, &forwarded, nullptr);
  }
}

Result<ChildEnd> PinnedChild::Wait(BindSupervisor* supervisor,
                                   const std::function<void(const MovedBind&)>& on_bind,
                                   const WaitWatch& watch) {
  for (;;) {
    pollfd fds[4] = {{pidfd_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0},
                     {supervisor ? supervisor->fd() : -1, POLLIN, 0},
                     {watch.on_ready ? watch.fd : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "poll"));
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        ::kill(pid_, static_cast<int>(si.ssi_signo));
      }
    }
    if (supervisor != nullptr && (fds[2].revents & POLLIN)) {
      auto moved = supervisor->HandleOne();
      if (!moved) return std::unexpected(moved.error());
      if (*moved && on_bind) on_bind(**moved);
    }
    if (fds[3].revents & POLLIN) watch.on_ready();
    if (fds[0].revents & POLLIN) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED) != 0) {
        if (errno == EINTR) continue;
        return std::unexpected(ErrnoError(errno, "waitid"));
      }
      pid_ = -1;
      if (watch.on_ready) watch.on_ready();
      ChildEnd end;
      if (info.si_code == CLD_EXITED) {
        end.exit_code = info.si_status;
      } else {
        end.signal = info.si_status;
      }
      return end;
    }
  }
}

}  // namespace berth
