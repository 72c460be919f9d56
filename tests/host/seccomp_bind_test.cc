// How the seccomp engine fetches the socket a bind names (FetchTargetSocket): from a thread
// other than the process's main one too. The thread group's way, which Linux 5.9 to 6.8 take
// for such a thread (pidfd_open of a thread needs PIDFD_THREAD, 6.9), is forced here on any
// kernel through FetchSocketViaThreadGroup: on this process's own threads, with the real /proc
// and with made-up /proc trees (hostile status texts, an fd entry naming another file).
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "host/seccomp_bind.h"

namespace berth {
namespace {

struct Inode {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const Inode&) const = default;
};

Inode InodeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return {st.st_dev, st.st_ino};
}

// A second thread of this process, alive until the object is dropped. `setup` runs in it
// first (to give it an fd table of its own, say); tid() is its thread id.
class SecondThread {
 public:
  explicit SecondThread(std::function<void()> setup = {}) {
    std::promise<pid_t> started;
    std::future<pid_t> tid = started.get_future();
    thread_ = std::thread([this, setup = std::move(setup), started = std::move(started)]() mutable {
      if (setup) setup();
      started.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
      stop_.get_future().wait();
    });
    tid_ = tid.get();
  }
  ~SecondThread() {
    stop_.set_value();
    thread_.join();
  }
  pid_t tid() const { return tid_; }

 private:
  std::promise<void> stop_;
  std::thread thread_;
  pid_t tid_ = 0;
};

class FetchSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sock_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock_.valid());
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-proc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  // A made-up /proc entry for thread `tid`: its status text, and fd/N linking to `target`.
  std::string FakeThread(pid_t tid, const std::string& status, int fd = -1, const std::string& target = "") {
    const std::string dir = root_ + "/" + std::to_string(tid);
    std::filesystem::create_directories(dir + "/fd");
    std::ofstream(dir + "/status") << status;
    if (fd >= 0) std::filesystem::create_symlink(target, dir + "/fd/" + std::to_string(fd));
    return dir;
  }

  UniqueFd sock_;
  std::string root_;
};

TEST_F(FetchSocketTest, AThreadThatIsNotTheMainOneNeedsPidfdThreadOrItsThreadGroup) {
  SecondThread thread;
  ASSERT_NE(thread.tid(), ::getpid());
  // The premise: a plain pidfd_open of such a thread fails (EINVAL, or ENOENT on recent
  // kernels) on every kernel.
  const long plain = ::syscall(SYS_pidfd_open, thread.tid(), 0);
  const int plain_errno = errno;
  EXPECT_EQ(plain, -1);
  EXPECT_TRUE(plain_errno == EINVAL || plain_errno == ENOENT) << plain_errno;
  if (plain >= 0) ::close(static_cast<int>(plain));
  // Either way gives berth the very socket.
  auto fetched = FetchTargetSocket(thread.tid(), sock_.get());
  ASSERT_TRUE(fetched.has_value()) << fetched.error().message;
  EXPECT_EQ(InodeOf(fetched->get()), InodeOf(sock_.get()));
  auto via_group = FetchSocketViaThreadGroup(thread.tid(), sock_.get(), "/proc");
  ASSERT_TRUE(via_group.has_value()) << via_group.error().message;
  EXPECT_EQ(InodeOf(via_group->get()), InodeOf(sock_.get()));
  // The main thread: its tid is the pid.
  auto main = FetchTargetSocket(::getpid(), sock_.get());
  ASSERT_TRUE(main.has_value()) << main.error().message;
  EXPECT_EQ(InodeOf(main->get()), InodeOf(sock_.get()));
}

// A thread with an fd table of its own (unshare(CLONE_FILES)), where the socket's number
// names another socket: the thread group's way would fetch the process's file, which is not
// the thread's, and says so instead; PIDFD_THREAD (Linux 6.9) reaches the thread's own.
TEST_F(FetchSocketTest, AThreadWithItsOwnFdTableIsRefusedThroughItsThreadGroup) {
  Inode theirs;
  SecondThread thread([&] {
    ASSERT_EQ(::unshare(CLONE_FILES), 0);
    UniqueFd other(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(other.valid());
    ASSERT_EQ(::dup2(other.get(), sock_.get()), sock_.get());  // in the thread's table only
    theirs = InodeOf(sock_.get());
  });
  ASSERT_NE(theirs, InodeOf(sock_.get())) << "the thread's fd names another socket";
  auto via_group = FetchSocketViaThreadGroup(thread.tid(), sock_.get(), "/proc");
  ASSERT_FALSE(via_group.has_value()) << "fetched the process's socket for the thread's";
  EXPECT_EQ(via_group.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(via_group.error().message.find(fmt::format("thread {} has an fd table of its own", thread.tid())),
            std::string::npos) << via_group.error().message;
  auto direct = FetchTargetSocket(thread.tid(), sock_.get());
  ASSERT_TRUE(direct.has_value()) << direct.error().message;
  EXPECT_EQ(InodeOf(direct->get()), theirs);
}

TEST_F(FetchSocketTest, AMadeUpProcTreeIsReadThroughItsTgidAndChecked) {
  const pid_t tid = 4000001;  // a thread only the made-up tree knows
  const std::string self_fd = fmt::format("/proc/{}/fd/{}", ::getpid(), sock_.get());
  FakeThread(tid, fmt::format("Name:\tx\nTgid:\t{}\nPid:\t{}\n", ::getpid(), tid), sock_.get(), self_fd);
  auto ok = FetchSocketViaThreadGroup(tid, sock_.get(), root_);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(InodeOf(ok->get()), InodeOf(sock_.get()));
}

TEST_F(FetchSocketTest, HostileProcTreesAreRefused) {
  const pid_t me = ::getpid();
  const int fd = sock_.get();
  const std::string self_fd = fmt::format("/proc/{}/fd/{}", me, fd);
  auto fetch = [&](pid_t tid) { return FetchSocketViaThreadGroup(tid, fd, root_); };
  // No such thread.
  auto missing = fetch(4000010);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().message;
  // Status texts without one valid Tgid.
  pid_t tid = 4000020;
  for (const std::string& status : std::vector<std::string>{"Name:\tx\nPid:\t1\n", fmt::format("Tgid:\t{}\nTgid:\t{}\n", me, me),
                                   std::string("Tgid:\t-1\n"), std::string("Tgid:\t99999999999\n"),
                                   fmt::format("Tgid:\t{} trailing\n", me)}) {
    FakeThread(++tid, status, fd, self_fd);
    auto r = fetch(tid);
    ASSERT_FALSE(r.has_value()) << status;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed) << status << ": " << r.error().message;
  }
  // A status that is a FIFO is refused, not waited on; one past the reader's cap is refused.
  const std::string fifo_dir = FakeThread(++tid, "");
  std::filesystem::remove(fifo_dir + "/status");
  ASSERT_EQ(::mkfifo((fifo_dir + "/status").c_str(), 0600), 0);
  auto fifo = fetch(tid);
  ASSERT_FALSE(fifo.has_value());
  EXPECT_EQ(fifo.error().code, ErrorCode::kInvalidArgument) << fifo.error().message;
  const std::string big_dir = FakeThread(++tid, fmt::format("Tgid:\t{}\n", me), fd, self_fd);
  std::filesystem::resize_file(big_dir + "/status", std::size_t{2} << 20);
  auto big = fetch(tid);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kMalformed) << big.error().message;
  // A Tgid no process has.
  FakeThread(++tid, "Tgid:\t2147483647\n", fd, self_fd);
  auto nobody = fetch(tid);
  ASSERT_FALSE(nobody.has_value());
  EXPECT_EQ(nobody.error().code, ErrorCode::kNotFound) << nobody.error().message;
  // The thread's fd entry names another file than the process's fd: not fetched.
  FakeThread(++tid, fmt::format("Tgid:\t{}\n", me), fd, root_);
  auto other = fetch(tid);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kUnavailable) << other.error().message;
  // ... or nothing at all.
  FakeThread(++tid, fmt::format("Tgid:\t{}\n", me));
  auto none = fetch(tid);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound) << none.error().message;
}

}  // namespace
}  // namespace berth
