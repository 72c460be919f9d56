// Helpers every test binary links: running commands, owning child processes, and
// throwaway network namespaces. Every process started here is stopped by its pid and every
// namespace created here is deleted in a destructor, so a failing test cleans up too.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

bool IsRoot();

// True under CI (CI=true in the environment, as .ci/run is started).
bool InCi();

// A peer, a tool or a privilege the test needs is missing: the test is skipped on a
// developer's machine, and fails under CI, so that a missing install step never passes.
#define BERTH_MISSING_PEER(message)                                        \
  do {                                                                     \
    if (::berth::test::InCi()) {                                           \
      GTEST_FAIL() << "CI=true, and " << message;                          \
    } else {                                                               \
      GTEST_SKIP() << message;                                             \
    }                                                                      \
  } while (0)

// Skips (fails under CI) the current test when not running as root.
#define BERTH_REQUIRE_ROOT()                                                            \
  do {                                                                                  \
    if (!::berth::test::IsRoot()) {                                                     \
      BERTH_MISSING_PEER("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root");     \
    }                                                                                   \
  } while (0)

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or not started
  std::string out;
  std::string err;
};

// Runs argv (no shell), waits, captures stdout and stderr. `input` goes to stdin.
CommandResult Run(const std::vector<std::string>& argv, const std::string& input = "");

// The berth binary built alongside the tests.
std::string BerthBinary();

// Runs `berth args...`.
CommandResult RunBerth(const std::vector<std::string>& args);

// A child process that runs `body` (in a fork, no exec) or a command (spawned); killed (SIGKILL) and
// reaped in the destructor. `ready_fd` handshake: the body writes one byte when set up.
class Child {
 public:
  // Forks; in the child runs body(write_end) then sleeps until killed.
  static Child Fork(const std::function<void(int ready_fd)>& body);
  // Starts argv (posix_spawnp; PATH is searched).
  static Child Exec(const std::vector<std::string>& argv);
  Child(Child&& o) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // Waits for the ready byte (Fork only). False on timeout or if the child died.
  bool WaitReady(int timeout_ms = 5000);
  void Kill();

 private:
  Child(pid_t pid, int ready_read) : pid_(pid), ready_read_(ready_read) {}
  pid_t pid_ = -1;
  int ready_read_ = -1;
};

// A named network namespace (ip netns add), loopback up, deleted in the destructor.
class Netns {
 public:
  // Name: "berth-test-<tag>-<pid>". nullopt (with a message on stderr) on failure.
  static std::optional<Netns> Create(const std::string& tag);
  Netns(Netns&& o) noexcept;
  Netns& operator=(Netns&&) = delete;
  ~Netns();

  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  // argv run inside the namespace (ip netns exec NAME argv...).
  CommandResult Exec(const std::vector<std::string>& argv) const;
  // Moves the calling thread into the namespace; returns false on failure.
  bool EnterThread() const;

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Moves this test process into a network namespace of its own (unshare(CLONE_NEWNET) of the
// calling thread: every thread and process it starts from then on is in it too) with only
// loopback, up. Tests whose peers listen on fixed loopback ports (the etcd clusters) can then
// run at the same time as each other. Nothing to remove: the namespace goes with the process.
// Once per process; false (the reason in `why`) without CAP_SYS_ADMIN.
bool PrivateLoopback(std::string& why);

}  // namespace berth::test
