#include "host/firewall_revert.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include <fmt/core.h>

#include "base/file.h"
#include "base/unique_fd.h"

namespace berth {
namespace {

std::string PendingPath(RulesTool t, const ApplyOptions& o) {
  return fmt::format("{}/{}.pending", o.state_dir, RulesToolName(t));
}

std::string OutcomePath(RulesTool t, const ApplyOptions& o) {
  return fmt::format("{}/{}.revert", o.state_dir, RulesToolName(t));
}

std::int64_t SteadyNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// In the intermediate child: never returns.
[[noreturn]] void DetachAndExec(const std::vector<std::string>& args, int pid_pipe) {
  if (::setsid() < 0) ::_exit(126);
  const pid_t pid = ::fork();
  if (pid != 0) {
    const int sent = pid > 0 ? static_cast<int>(pid) : -1;
    (void)!::write(pid_pipe, &sent, sizeof sent);
    ::_exit(pid > 0 ? 0 : 126);
  }
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) ::_exit(126);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(null, fd) < 0) ::_exit(126);
  }
  static char kSelf[] = "/proc/self/exe";
  std::vector<char*> argv{kSelf};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(kSelf, argv.data());
  ::_exit(127);
}

}  // namespace

bool RevertPending(RulesTool tool, const ApplyOptions& options) {
  return ::access(PendingPath(tool, options).c_str(), F_OK) == 0;
}

Result<int> StartRevertWatchdog(RulesTool tool, const ApplyOptions& options,
                                std::chrono::seconds within,
                                const std::vector<std::string>& watchdog_args) {
  const std::string pending = PendingPath(tool, options);
  if (RevertPending(tool, options)) {
    return Fail(ErrorCode::kConflict,
                fmt::format("an apply of {} rules already waits for confirmation ({})",
                            RulesToolName(tool), pending));
  }
  // The id tells this apply from a later one; the deadline is the watchdog's, in steady ms.
  const std::int64_t deadline = SteadyNow() + within.count() * 1000;
  BERTH_TRY(WriteFileAtomic(pending, fmt::format("{} {}\n", ::getpid(), deadline), 0600));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    const int e = errno;
    ::unlink(pending.c_str());
    return std::unexpected(ErrnoError(e, "pipe for the revert watchdog"));
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t child = ::fork();
  if (child < 0) {
    const int e = errno;
    ::unlink(pending.c_str());
    return std::unexpected(ErrnoError(e, "fork the revert watchdog"));
  }
  if (child == 0) DetachAndExec(watchdog_args, write_end.get());
  write_end = UniqueFd();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int watchdog = -1;
  const ssize_t n = ::read(read_end.get(), &watchdog, sizeof watchdog);
  if (n != static_cast<ssize_t>(sizeof watchdog) || watchdog <= 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    ::unlink(pending.c_str());
    return Fail(ErrorCode::kInternal, "could not start the revert watchdog (fork/setsid failed)");
  }
  return watchdog;
}

Result<void> ConfirmApply(RulesTool tool, const ApplyOptions& options) {
  const std::string pending = PendingPath(tool, options);
  if (::unlink(pending.c_str()) != 0) {
    if (errno == ENOENT) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("no apply of {} rules waits for confirmation in {} (see {})",
                              RulesToolName(tool), options.state_dir, OutcomePath(tool, options)));
    }
    return std::unexpected(ErrnoError(errno, "remove " + pending));
  }
  return {};
}

Result<RevertOutcome> RunRevertWatchdog(RulesTool tool, const ApplyOptions& options) {
  const std::string pending = PendingPath(tool, options);
  const std::string mine = BERTH_TRY(ReadSmallFile(pending));
  std::int64_t deadline = 0;
  if (std::sscanf(mine.c_str(), "%*d %ld", &deadline) != 1) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: expected '<id> <deadline>'", pending));
  }
  // Confirmation removes the file (or a later apply replaces it): polled, so a confirmed
  // watchdog exits within one period.
  for (;;) {
    auto now = ReadSmallFile(pending);
    if (!now || *now != mine) return RevertOutcome::kConfirmed;
    if (SteadyNow() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Claim the revert atomically: a --confirm racing with the deadline either removed the
  // file first (confirmed) or finds it gone (too late, and says so).
  const std::string firing = pending + ".firing";
  if (::rename(pending.c_str(), firing.c_str()) != 0) return RevertOutcome::kConfirmed;
  auto back = RollbackFirewall(tool, options);
  ::unlink(firing.c_str());
  const std::string outcome =
      back ? "restored the rules of before the unconfirmed apply\n"
           : fmt::format("restoring the rules of before the unconfirmed apply failed: {}\n",
                         back.error().message);
  (void)WriteFileAtomic(OutcomePath(tool, options), outcome, 0600);
  if (!back) return std::unexpected(back.error());
  return RevertOutcome::kRestored;
}

}  // namespace berth
