#include "support/test_support.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace berth::test {
namespace {

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// The processes a test starts (berth above all: the suite starts it over a thousand times)
// skip LeakSanitizer's scan at exit, which cost about a quarter of each short run's CPU; the
// test processes themselves, which call the same libraries in-process, keep it (they read
// ASAN_OPTIONS before this runs). BERTH_TEST_CHILD_LEAKS=1 keeps it for children too.
[[maybe_unused]] const bool kChildrenSkipLeakScan = [] {
  const char* keep = std::getenv("BERTH_TEST_CHILD_LEAKS");
  if (keep != nullptr && std::string_view(keep) == "1") return false;
  std::string opts = std::getenv("ASAN_OPTIONS") != nullptr ? std::getenv("ASAN_OPTIONS") : "";
  if (opts.find("detect_leaks") != std::string::npos) return false;
  opts += opts.empty() ? "detect_leaks=0" : ":detect_leaks=0";
  return ::setenv("ASAN_OPTIONS", opts.c_str(), 1) == 0;
}();

}  // namespace

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

bool IsRoot() { return ::geteuid() == 0; }

CommandResult Run(const std::vector<std::string>& argv, const std::string& input) {
  CommandResult r;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return r;
  // posix_spawn, not fork: a fork of this (sanitized, large) process copies its page tables
  // and leaves it copy-on-write faults; the suite starts thousands of processes.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  auto args = Argv(argv);
  pid_t pid = -1;
  const int spawn_error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (spawn_error != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    r.err = std::string("exec ") + args[0] + ": " + std::strerror(spawn_error) + "\n";
    r.exit_code = 127;
    return r;
  }
  // Feed stdin from a thread-free loop: small inputs only (tests).
  if (!input.empty()) {
    const char* p = input.data();
    std::size_t left = input.size();
    while (left > 0) {
      ssize_t n = ::write(in[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  ::close(in[1]);
  // Drain stdout and stderr together so neither pipe fills up.
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open = 2;
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string BerthBinary() { return BERTH_BINARY; }

CommandResult RunBerth(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BerthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

Child Child::Fork(const std::function<void(int)>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Child(-1, -1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    body(p[1]);
    for (;;) ::pause();
  }
  ::close(p[1]);
  return Child(pid, p[0]);
}

Child Child::Exec(const std::vector<std::string>& argv) {
  auto args = Argv(argv);
  pid_t pid = -1;
  if (const int e = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ); e != 0) {
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(e));
    // As a failed exec after fork did: a real child that exits 127, so pid() is never -1
    // (callers kill and wait for it).
    pid = ::fork();
    if (pid == 0) ::_exit(127);
  }
  return Child(pid, -1);
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), ready_read_(std::exchange(o.ready_read_, -1)) {}

Child::~Child() {
  Kill();
  if (ready_read_ >= 0) ::close(ready_read_);
}

bool Child::WaitReady(int timeout_ms) {
  if (ready_read_ < 0) return false;
  pollfd pfd{ready_read_, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) != 1) return false;
  char c;
  return ::read(ready_read_, &c, 1) == 1;
}

void Child::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::optional<Netns> Netns::Create(const std::string& tag) {
  std::string name = "berth-test-" + tag + "-" + std::to_string(::getpid());
  (void)Run({"ip", "netns", "del", name});  // a leftover from a crashed run
  CommandResult r = Run({"ip", "netns", "add", name});
  if (r.exit_code != 0) {
    std::fprintf(stderr, "ip netns add %s failed: %s\n", name.c_str(), r.err.c_str());
    return std::nullopt;
  }
  Netns ns(name);
  r = ns.Exec({"ip", "link", "set", "lo", "up"});
  if (r.exit_code != 0) {
    std::fprintf(stderr, "ip link set lo up in %s failed: %s\n", name.c_str(), r.err.c_str());
    return std::nullopt;
  }
  return ns;
}

Netns::Netns(Netns&& o) noexcept : name_(std::exchange(o.name_, {})) {}

Netns::~Netns() {
  if (!name_.empty()) (void)Run({"ip", "netns", "del", name_});
}

CommandResult Netns::Exec(const std::vector<std::string>& argv) const {
  std::vector<std::string> full{"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return Run(full);
}

bool Netns::EnterThread() const {
  int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

bool PrivateLoopback(std::string& why) {
  static bool done = false;
  if (done) return true;
  if (::unshare(CLONE_NEWNET) != 0) {
    why = std::string("a private network namespace for this test's fixed loopback ports needs "
                      "root (unshare: ") + std::strerror(errno) + ")";
    return false;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = false;
  if (fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    up = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!up) {
    why = std::string("bringing loopback up in this test's network namespace: ") + std::strerror(err);
    return false;
  }
  done = true;
  return true;
}

}  // namespace berth::test
